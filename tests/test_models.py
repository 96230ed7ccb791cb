"""What every registered model of the shared table (tests/_models.py) must do through the shared code, with no code of its own:
resume exactly, train and translate from the command line, export and reload each generator."""
import contextlib, io
import pytest, torch
from fastai.vision.all import Callback, CancelFitException, set_seed
from _models import MODELS, tiny_dls, tiny_model
from upit_ext.cli import main
from upit_ext.inference import export_generator, load_generator, translate
from upit_ext.train.checkpoint import CheckpointCallback
from upit_ext.train.learners import learner_for

def _fit(name, demo_data, paired_data, path, stop_after=None, resume=None):
    set_seed(42, reproducible=True)
    m = tiny_model(name)
    learn = learner_for(m)(tiny_dls(name, demo_data, paired_data), m, path=path)
    class Stop(Callback):
        order = CheckpointCallback.order + 1
        def after_epoch(self):
            if self.epoch + 1 == stop_after: raise CancelFitException
    with learn.no_bar(), learn.no_logging(): learn.fit(4, lr=2e-3, cbs=[CheckpointCallback(), Stop()], resume=resume)
    return learn

@pytest.mark.parametrize('name', sorted(MODELS))
def test_resume_equals_uninterrupted(name, demo_data, paired_data, tmp_path):
    full = _fit(name, demo_data, paired_data, tmp_path/'full')
    _fit(name, demo_data, paired_data, tmp_path/'half', stop_after=2)
    resumed = _fit(name, demo_data, paired_data, tmp_path/'half', resume=tmp_path/'half'/'models'/'checkpoint.pth')
    for k,v in full.model.state_dict().items(): torch.testing.assert_close(resumed.model.state_dict()[k].float(), v.float(), atol=1e-6, rtol=0)
    assert resumed.train_iter == full.train_iter

@pytest.mark.parametrize('name', sorted(MODELS))
def test_export_every_generator(name, demo_data, paired_data, tmp_path):
    m = tiny_model(name)
    learn = learner_for(m)(tiny_dls(name, demo_data, paired_data), m, path=tmp_path)
    for d,g in m.generators().items():
        gen = load_generator(export_generator(learn, tmp_path/f'{d}.pth', d))
        x = torch.rand(1, gen.export_info['kwargs'].get('ch_in', 3), 32, 32)
        with torch.no_grad(): torch.testing.assert_close(gen(x), g.eval()(x), atol=1e-5, rtol=0)
        assert gen.export_info['direction'] == d

def run_main(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main([str(o) for o in args])
    return rc, out.getvalue(), err.getvalue()

@pytest.mark.parametrize('name', sorted(MODELS))
def test_cli_train_then_translate(name, demo_data, paired_data, tmp_path):
    data = ['--pathA', paired_data/'trainA', '--pathB', paired_data/'trainB', '--paired'] if MODELS[name]['paired'] else \
           ['--pathA', demo_data/'trainA', '--pathB', demo_data/'trainB']
    tiny = ['--load-size', 32, '--crop-size', 32, '--epochs', 1, '--epochs-decay', 0, '--bs', 2, '--n-features', 4, '--num-workers', 0]
    rc, out, err = run_main('train', name, *data, *tiny, *MODELS[name]['cli'], '--out', tmp_path/'run')
    assert rc == 0, err
    gens = sorted(f for f in (tmp_path/'run').iterdir() if f.name.startswith('G'))
    assert gens and (tmp_path/'run'/'model'/'config.json').exists()
    for f in gens:
        src = (paired_data if MODELS[name]['paired'] else demo_data)/('testA' if load_generator(f).export_info['direction'] == 'AtoB' else 'testB')
        rc, out, err = run_main('translate', '--model', f, '--input', src, '--output', tmp_path/f.stem)
        assert rc == 0, err
        assert len(list((tmp_path/f.stem).iterdir())) == len(list(src.iterdir()))
