"The `preprocess` modes of the folder loaders on wide, tall and odd-sized images: output shapes, and one geometry for both images of a pair."
import warnings
import numpy as np, pytest, torch
from PIL import Image
from fastai.vision.all import Resize, ResizeMethod, RandomCrop, FlipItem, set_seed
from upit_ext.core import InputError
from upit_ext.data.unpaired import get_dls, preprocess_modes
from upit_ext.data.paired import get_paired_dls, get_side_by_side_dls

SHAPES = [(1024, 40), (40, 1024), (300, 417)]   # width x height
# the expected (height, width) of each mode's output, worked out by hand from the reference's rules (load_size, crop_size) -> {mode: [per shape]}
EXPECTED = {
    (64, 48): {'resize_and_crop': [(48, 48)]*3, 'scale_width_and_crop': [(48, 48)]*3, 'crop': [(48, 48)]*3, 'pad': [(48, 48)]*3,
               # width 64; height 64*h/w, at least 48, to the nearest multiple of 4: 2.5 -> 48, 1638.4 -> 1640, 88.96 -> 88
               'scale_width': [(48, 64), (1640, 64), (88, 64)],
               # the image's own size, to the nearest multiple of 4
               'none': [(40, 1024), (1024, 40), (416, 300)]},
    (286, 256): {'resize_and_crop': [(256, 256)]*3, 'scale_width_and_crop': [(256, 256)]*3, 'crop': [(256, 256)]*3, 'pad': [(256, 256)]*3,
                 # width 286 -> 288 (a multiple of 4); height 288*h/w, at least 256: 11.25 -> 256, 7372.8 -> 7372, 400.32 -> 400
                 'scale_width': [(256, 288), (7372, 288), (400, 288)],
                 'none': [(40, 1024), (1024, 40), (416, 300)]},
}
RAGGED = ('scale_width', 'none')

def plain(x): return x.as_subclass(torch.Tensor)

def noise(w, h, seed=0): return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))

def bgr(im): return Image.fromarray(np.asarray(im)[..., ::-1].copy())   # B is a deterministic function of A: its channels reversed

@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    "For each shape: a folder 'A' with two noise images of it, 'B' with the same names holding the BGR versions, and side-by-side files [A | BGR(A)]"
    root = tmp_path_factory.mktemp('shapes')
    for w, h in SHAPES:
        d = root/f'{w}x{h}'
        for sub in ('A', 'B', 'AB'): (d/sub).mkdir(parents=True)
        for i in range(2):
            a = noise(w, h, seed=i)
            a.save(d/'A'/f'{i}.png'); bgr(a).save(d/'B'/f'{i}.png')
            Image.fromarray(np.concatenate([np.asarray(a), np.asarray(bgr(a))], 1)).save(d/'AB'/f'{i}.png')
    return root

def _dir(shapes, i): w, h = SHAPES[i]; return shapes/f'{w}x{h}'

@pytest.mark.parametrize('sizes', list(EXPECTED))
@pytest.mark.parametrize('mode', preprocess_modes)
def test_unpaired_shapes(shapes, mode, sizes):
    load, crop = sizes
    for i in range(len(SHAPES)):
        d = _dir(shapes, i)
        dls = get_dls(d/'A', d/'B', load_size=load, crop_size=crop, bs=1, num_workers=0, valid_pct=0.5, seed=0, preprocess=mode)
        for dl in (dls.train, dls.valid):
            xa, xb = dl.one_batch()
            assert tuple(xa.shape) == tuple(xb.shape) == (1, 3, *EXPECTED[sizes][mode][i]), (mode, SHAPES[i], dl is dls.valid, xa.shape)
            assert -1 <= xa.min() and xa.max() <= 1

@pytest.mark.parametrize('mode', preprocess_modes)
def test_paired_identical_geometry(shapes, mode):
    "B is A with its channels reversed: in every batch, training (random crops and flips) and validation, B must be exactly A reversed"
    load, crop = 64, 48
    set_seed(0)   # the loaders draw their shuffles and augmentations from here: the same draws on every run
    for i in range(len(SHAPES)):
        d = _dir(shapes, i)
        kw = dict(load_size=load, crop_size=crop, bs=1, num_workers=0, preprocess=mode)
        loaders = [get_paired_dls(d/'A', d/'B', valid_pct=0.5, seed=0, **kw), get_side_by_side_dls(d/'AB', valid_pct=0.5, seed=0, **kw),
                   get_paired_dls(d/'A', d/'A', valid_pct=0, **{**kw, 'bs': 2})]   # A with itself, two per batch
        for dls in loaders:
            seen = set()
            for dl in (dls.train, dls.valid):
                if not len(dl.dataset): continue
                for _ in range(8 if dl is dls.train else 1):
                    xa, xb = dl.one_batch()
                    assert tuple(xa.shape[-2:]) == EXPECTED[(load, crop)][mode][i]
                    want = plain(xa) if dls is loaders[2] else plain(xa)[:, [2, 1, 0]]
                    assert torch.equal(plain(xb), want), (mode, SHAPES[i])
                    seen.add(plain(xa).numpy().tobytes())
            assert len(seen) >= 2, (mode, SHAPES[i])   # the random crops and flips did vary

def test_paired_direction_BtoA(shapes):
    d = _dir(shapes, 2)
    xa, xb = get_paired_dls(d/'A', d/'B', load_size=64, crop_size=48, bs=1, num_workers=0, valid_pct=0, preprocess='pad', direction='BtoA').one_batch()
    assert torch.equal(plain(xa)[:, [2, 1, 0]], plain(xb))

def test_resize_and_crop_is_the_earlier_augmentation(shapes):
    "The default mode gives exactly the batches of the transforms the loaders used before `preprocess` existed"
    d = _dir(shapes, 2)
    old = [Resize(72, method=ResizeMethod.Squish, resamples=(Image.BICUBIC, Image.NEAREST)), RandomCrop(64), FlipItem(0.5)]
    for load in (lambda **k: get_dls(d/'A', d/'B', **k), lambda **k: get_paired_dls(d/'A', d/'B', **k)):
        batches = []
        for kw in (dict(preprocess='resize_and_crop'), dict(item_tfms=old)):
            set_seed(3)
            dls = load(load_size=72, crop_size=64, bs=1, num_workers=0, valid_pct=0.5, seed=0, **kw)
            batches.append([plain(t) for _ in range(4) for t in dls.train.one_batch()] + [plain(t) for t in dls.valid.one_batch()])
        assert all(torch.equal(a, b) for a, b in zip(*batches))

def test_ragged_batches_need_bs_1(shapes, tmp_path):
    mixed = tmp_path/'mixed'; mixed.mkdir()
    for i, (w, h) in enumerate(SHAPES): noise(w, h, i).save(mixed/f'{i}.png')
    for mode in RAGGED:
        with pytest.raises(InputError, match=f"bs=2: with preprocess='{mode}' each image keeps its own .* the images of pathA come out in 3 sizes"):
            get_dls(mixed, mixed, bs=2, num_workers=0, preprocess=mode)
        with pytest.raises(InputError, match="the images of pathA come out in 3 sizes"):
            get_paired_dls(mixed, mixed, bs=2, num_workers=0, preprocess=mode)
        dls = get_dls(mixed, mixed, load_size=64, crop_size=48, bs=1, num_workers=0, preprocess=mode, normalize=True)   # stats of ragged images
        assert {tuple(dls.train_ds[i][0].shape[-2:]) for i in range(3)} == set(EXPECTED[(64, 48)][mode])
    for mode in set(preprocess_modes) - set(RAGGED):   # one output size: any batch size
        assert get_dls(mixed, mixed, load_size=64, crop_size=48, bs=3, num_workers=0, preprocess=mode).one_batch()[0].shape == (3, 3, 48, 48)
    same = tmp_path/'same'; same.mkdir()
    for i in range(2): noise(300, 417, i).save(same/f'{i}.png')
    assert get_dls(same, same, bs=2, num_workers=0, preprocess='none').one_batch()[0].shape == (2, 3, 416, 300)

def test_different_aspect_ratios_in_a_pair(shapes, tmp_path):
    d = _dir(shapes, 2)
    (tmp_path/'B').mkdir()
    for f in (d/'A').iterdir(): Image.open(f).resize((600, 834)).save(tmp_path/'B'/f.name)   # twice the size: brought to A's
    for mode in preprocess_modes:
        xa, xb = get_paired_dls(d/'A', tmp_path/'B', load_size=64, crop_size=48, bs=1, num_workers=0, valid_pct=0, preprocess=mode).one_batch()
        assert xa.shape == xb.shape
    Image.open(d/'A'/'0.png').resize((300, 300)).save(tmp_path/'B'/'0.png')
    for mode in set(preprocess_modes) - {'resize_and_crop'}:
        with pytest.raises(InputError, match=r"1 pair\(s\) of pathA and pathB have images of different aspect ratios.*0.png' \(300x417 and 300x300\)"):
            get_paired_dls(d/'A', tmp_path/'B', bs=1, num_workers=0, preprocess=mode)
    assert get_paired_dls(d/'A', tmp_path/'B', load_size=64, crop_size=48, num_workers=0, valid_pct=0).one_batch()[0].shape == (1, 3, 48, 48)

@pytest.mark.parametrize('kw,msg', [(dict(preprocess='squish'), "preprocess='squish' is not one of"),
                                    (dict(preprocess='pad', item_tfms=[]), 'give item_tfms or preprocess'),
                                    (dict(preprocess='pad', load_size=32, crop_size=64), 'crop_size=64 is larger than load_size=32'),
                                    (dict(preprocess='scale_width', load_size=(64, 32)), r"load_size=\(64, 32\): preprocess='scale_width'"),
                                    (dict(preprocess='none', size_multiple=0), 'size_multiple=0')])
def test_bad_arguments(shapes, kw, msg):
    d = _dir(shapes, 2)
    for load in (lambda: get_dls(d/'A', d/'B', **kw), lambda: get_paired_dls(d/'A', d/'B', **kw), lambda: get_side_by_side_dls(d/'AB', **kw)):
        with pytest.raises(InputError, match=msg): load()

def test_crop_ignores_load_size(shapes):
    d = _dir(shapes, 2)
    assert get_dls(d/'A', d/'B', load_size=64, crop_size=128, num_workers=0, preprocess='crop').one_batch()[0].shape == (1, 3, 128, 128)
