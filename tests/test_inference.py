"Translating, exporting and loading generators, as a user of upit_ext.inference would."
import warnings
import numpy as np
import pytest, torch
from PIL import Image
from upit_ext.core import InputError
from upit_ext.data.unpaired import get_dls
from upit_ext.models.cyclegan import CycleGAN
from upit_ext.models.ganilla import GANILLA
from upit_ext.models.pix2pix import Pix2Pix
from upit_ext.train.learners import cycle_learner
from upit_ext.inference import (OutputExistsError, ImageTranslator, export_generator, export_torchscript, load_generator,
                                pick_generator, translate)

def tiny_models():
    torch.manual_seed(0)
    return [CycleGAN(3, 3, n_features=4, gen_blocks=1), GANILLA(3, 1, n_features=4), Pix2Pix(1, 3, n_features=4, n_downs=5)]

def in_channels(gen): return next(m.in_channels for m in gen.modules() if isinstance(m, torch.nn.Conv2d))

@pytest.fixture(scope='module')
def learn(demo_data):
    "A CycleGAN learner trained for one epoch on the demo data"
    dls = get_dls(demo_data/'trainA', demo_data/'trainB', load_size=32, crop_size=32, bs=2, num_workers=0, seed=0)
    learn = cycle_learner(dls, CycleGAN(3, 3, n_features=4, gen_blocks=1))
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    return learn

@pytest.fixture
def odd_images(tmp_path, demo_data):
    "A 333x250 image saved as RGB, grayscale, RGBA, palette, CMYK and 16-bit files"
    src = tmp_path/'src'; src.mkdir()
    im = Image.open(demo_data/'testA'/'0000.png').convert('RGB').resize((333, 250))
    im.save(src/'rgb.png'); im.convert('L').save(src/'gray.png'); im.convert('RGBA').save(src/'rgba.png')
    im.convert('P').save(src/'palette.png'); im.convert('CMYK').save(src/'cmyk.jpg')
    Image.fromarray(np.asarray(im.convert('L')).astype(np.uint16) * 257).save(src/'deep.png')
    return src

@pytest.mark.parametrize('i', range(3))
def test_export_load_roundtrip(tmp_path, i):
    m = tiny_models()[i]
    for d in (['AtoB'] if isinstance(m, Pix2Pix) else ['AtoB', 'BtoA']):
        gen = pick_generator(m, d)[0].eval()
        g2 = load_generator(export_generator(m, tmp_path/f'{d}.pth', d))
        assert type(g2) is type(gen) and not g2.training
        x = torch.randn(2, in_channels(gen), 64, 32)
        with torch.inference_mode(): assert torch.equal(g2(x), gen(x))
        assert g2.export_info['direction'] == d and g2.export_info['source'] == type(m).__name__

@pytest.mark.parametrize('i', range(3))
def test_torchscript_roundtrip(tmp_path, i):
    m = tiny_models()[i]
    f = export_torchscript(m, tmp_path/'g.pt')
    ts = torch.jit.load(str(f))   # plain torch, no upit_ext class needed
    gen, s_in, s_out, *_ = pick_generator(m)
    x = torch.rand(3, in_channels(gen), 64, 96)
    with torch.inference_mode(): torch.testing.assert_close(ts(x), ImageTranslator(gen, s_in, s_out).eval()(x), rtol=1e-5, atol=1e-5)

def test_odd_sizes_and_modes_come_back_rgb(tmp_path, learn, odd_images):
    outs = translate(odd_images, learn.model, tmp_path/'out', progress=False)
    assert sorted(o.name for o in outs) == ['cmyk.png', 'deep.png', 'gray.png', 'palette.png', 'rgb.png', 'rgba.png']
    for o in outs:
        im = Image.open(o)
        assert (im.mode, im.size) == ('RGB', (333, 250)), o
    # returned as PIL images when there is no dest, from PIL images and tensors too
    im = Image.open(odd_images/'palette.png')
    assert translate(im, learn.model).size == (333, 250)
    t = torch.from_numpy(np.array(im.convert('RGB'))).permute(2, 0, 1)
    assert translate(t, learn.model).size == (333, 250)

def test_existing_output_is_not_overwritten(tmp_path, learn, odd_images):
    out = tmp_path/'out'; out.mkdir()
    (out/'rgb.png').write_bytes(b'precious')
    with pytest.raises(FileExistsError, match=r"rgb.png' exists"): translate(odd_images, learn.model, out, progress=False)
    assert (out/'rgb.png').read_bytes() == b'precious'
    assert sorted(o.name for o in out.iterdir()) == ['rgb.png']   # stopped before writing anything
    before = {f.name: f.read_bytes() for f in odd_images.iterdir()}
    with pytest.raises(OutputExistsError): translate(odd_images, learn.model, odd_images, fmt='png', progress=False)
    assert {f.name: f.read_bytes() for f in odd_images.iterdir()} == before   # inputs untouched

def test_no_half_written_file(tmp_path, learn, odd_images, monkeypatch):
    def failing_save(self, fp, format=None, **kwargs):
        open(fp, 'wb').write(b'half a png')
        raise OSError('disk full')
    monkeypatch.setattr(Image.Image, 'save', failing_save)
    with pytest.raises(OSError, match='disk full'): translate(odd_images/'rgb.png', learn.model, tmp_path/'out', progress=False)
    assert list((tmp_path/'out').iterdir()) == []   # neither the output nor the temporary file

def test_tiled_close_to_untiled(learn, demo_data):
    im = Image.open(demo_data/'testA'/'0001.png').resize((200, 160), Image.BICUBIC)
    whole = np.asarray(translate(im, learn.model)).astype(int)
    tiled = np.asarray(translate(im, learn.model, tile=64, overlap=32)).astype(int)
    diff = np.abs(whole - tiled)
    assert diff.mean() < 1.5, diff.mean()
    # tiles start every 32 pixels; the first 40 rows and columns come from the first tile alone (the next one's weight is 0 over its
    # first 8 pixels), far enough from its inner edges for the convolutions not to see them: there tiled and untiled agree
    assert diff[:40, :40].max() <= 1

def test_learner_translates_both_ways(learn, demo_data):
    a2b = learn.translate(demo_data/'testA'/'0000.png')
    b2a = learn.translate(demo_data/'testB'/'0000.png', direction='BtoA')
    assert a2b.size == b2a.size == (32, 32)
    ref = translate(demo_data/'testB'/'0000.png', learn.model.G_A)
    assert np.array_equal(np.asarray(b2a), np.asarray(ref))

def test_exported_file_translates_like_learner(tmp_path, learn, demo_data):
    f = export_generator(learn, tmp_path/'G.pth', 'BtoA')
    a = translate(demo_data/'testB', f, progress=False)
    b = learn.translate(demo_data/'testB', direction='BtoA', progress=False)
    assert all(np.abs(np.asarray(x).astype(int) - np.asarray(y).astype(int)).max() <= 1 for x,y in zip(a, b))
    with pytest.raises(InputError, match='holds the BtoA generator'): translate(demo_data/'testB', f, direction='AtoB')

@pytest.mark.parametrize('i', range(3))
def test_hub_mixin_roundtrip(tmp_path, i):
    m = tiny_models()[i].eval()
    m.save_pretrained(tmp_path/'hub')
    m2 = type(m).from_pretrained(tmp_path/'hub')
    gen, gen2 = pick_generator(m)[0], pick_generator(m2)[0]
    x = torch.randn(1, in_channels(gen), 32, 32)
    with torch.inference_mode(): assert torch.equal(gen(x), gen2(x))

def test_learner_export_and_load(tmp_path, learn):
    from fastai.learner import load_learner
    learn.path = tmp_path
    learn.export('export.pkl')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn2 = load_learner(tmp_path/'export.pkl')
    im = Image.new('RGB', (40, 36), 'orange')
    assert np.array_equal(np.asarray(learn2.translate(im, direction='BtoA')), np.asarray(learn.translate(im, direction='BtoA')))
