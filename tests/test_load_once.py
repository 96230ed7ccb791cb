"""`load` reads any source once, and `translate`, the web app and `upit_ext evaluate --model` (in test_metrics) take what it gives,
so each reads a model exactly once however many images or directions they use."""
from unittest import mock
import numpy as np, pytest, torch
from PIL import Image
import upit_ext.use.load as use_load
from upit_ext.models.cyclegan import CycleGAN
from upit_ext.use.export import export_generator, export_torchscript
from upit_ext.use.load import Translator, load, load_translators
from upit_ext.use.translate import translate

@pytest.fixture
def files(tmp_path):
    torch.manual_seed(0)
    m = CycleGAN(3, 3, n_features=4, gen_blocks=1).eval()
    ck = tmp_path/'ck.pth'
    from upit_ext.train.checkpoint import model_config
    torch.save(dict(version=2, config=model_config(m), model_class='upit_ext.models.cyclegan:CycleGAN', model=m.state_dict(), opt={}, stats=None), ck)
    for i in range(3): Image.fromarray(np.random.default_rng(i).integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(tmp_path/f'{i}.png')
    return dict(generator=export_generator(m, tmp_path/'g.pth'), torchscript=export_torchscript(m, tmp_path/'g.pt'), checkpoint=ck), tmp_path

def counted(): return mock.patch.object(use_load, 'open_source', wraps=use_load.open_source)

@pytest.mark.parametrize('kind', ['generator', 'torchscript', 'checkpoint'])
def test_translate_a_loaded_translator(files, kind):
    fs, d = files
    with counted() as opened:
        tr = load(fs[kind])
        outs = [translate(d/f'{i}.png', tr, progress=False) for i in range(3)]
    assert opened.call_count == 1 and isinstance(tr, Translator)
    assert all(np.array_equal(np.asarray(o), np.asarray(translate(d/f'{i}.png', fs[kind], progress=False))) for i,o in enumerate(outs))

def test_app_reads_a_checkpoint_once_for_both_directions(files):
    from upit_ext.app import Translators
    fs, d = files
    with counted() as opened: trs = Translators(fs['checkpoint'])
    assert opened.call_count == 1 and trs.directions == ['AtoB', 'BtoA']
    with counted() as opened: Translators(load(fs['generator']))
    assert opened.call_count == 1   # by load: the Translator given is not read again
