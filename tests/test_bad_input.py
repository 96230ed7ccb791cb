"Bad input to the data loaders and learners gets a clear error that names the argument or file."
import pytest
from PIL import Image
from upit_ext.core import InputError
from upit_ext.data.unpaired import get_dls
from upit_ext.models.cyclegan import CycleGAN
from upit_ext.train.learners import cycle_learner

def test_missing_folder(tmp_path, demo_data):
    with pytest.raises(FileNotFoundError, match=r"pathB: '.*nope' does not exist"): get_dls(demo_data/'trainA', tmp_path/'nope')

def test_empty_folder(tmp_path, demo_data):
    (tmp_path/'empty').mkdir()
    with pytest.raises(InputError, match=r"pathA: no image files in '.*empty' \(the folder is empty\)"): get_dls(tmp_path/'empty', demo_data/'trainB')

def test_folder_without_images(tmp_path, demo_data):
    (tmp_path/'docs').mkdir(); (tmp_path/'docs'/'readme.txt').write_text('x')
    with pytest.raises(InputError, match='none with an image extension'): get_dls(demo_data/'trainA', tmp_path/'docs')

def test_file_instead_of_folder(demo_data):
    with pytest.raises(InputError, match='is a file, expected a folder'): get_dls(demo_data/'trainA'/'0000.png', demo_data/'trainB')

def test_crop_larger_than_load(demo_data):
    with pytest.raises(InputError, match='crop_size=64 is larger than load_size=32'): get_dls(demo_data/'trainA', demo_data/'trainB', load_size=32, crop_size=64)

@pytest.mark.parametrize('crop,msg', [(30, 'got 30x30'), (20, 'at least 24, got 20x20')])
def test_size_the_model_cannot_take(demo_data, crop, msg):
    dls = get_dls(demo_data/'trainA', demo_data/'trainB', load_size=32, crop_size=crop, bs=2, num_workers=0)
    with pytest.raises(InputError, match=msg): cycle_learner(dls, CycleGAN(3, 3, 4, gen_blocks=1))

def test_corrupt_image_is_named(tmp_path, demo_data):
    (tmp_path/'A').mkdir()
    Image.open(demo_data/'trainA'/'0000.png').save(tmp_path/'A'/'good.png')
    (tmp_path/'A'/'broken.jpg').write_text('this is not a jpeg')
    with pytest.raises(InputError, match=r"pathA: 1 file\(s\) are not readable images: '.*broken\.jpg'"):
        dls = get_dls(tmp_path/'A', demo_data/'trainB', load_size=32, crop_size=32, bs=1, num_workers=0)
        for _ in range(3): dls.train_ds[0]; dls.train_ds[1]

def test_identity_needs_same_channels(demo_data):
    "A 3-channel A and a 1-channel B cannot use the identity loss: the error says so and how to proceed"
    from fastai.vision.all import Transform, TensorImage
    from upit_ext.core import TensorImageB
    dls = get_dls(demo_data/'trainA', demo_data/'trainB', load_size=32, crop_size=32, bs=2, num_workers=0)
    class GrayB(Transform):
        order = 100
        def encodes(self, x:TensorImageB): return x[:, :1]
    dls.train.after_batch.add(GrayB())
    learn = cycle_learner(dls, CycleGAN(3, 1, 4, gen_blocks=1))
    with pytest.raises(InputError, match=r'same number of channels \(A has 3, B 1\): use lambda_idt=0'):
        with learn.no_bar(), learn.no_logging(): learn.fit(1)
    learn = cycle_learner(dls, CycleGAN(3, 1, 4, gen_blocks=1), lambda_idt=0)
    with learn.no_bar(), learn.no_logging(): learn.fit(1)

# --- every kind of bad file, through the unpaired and paired loaders -------------------------------------------------------------
import os, warnings
import numpy as np
from upit_ext.data.paired import get_paired_dls

def _folder(tmp_path, demo_data, name, extra):
    "A copy of 4 demo images plus the `extra` files {name: bytes or PIL image}"
    d = tmp_path/name; d.mkdir()
    for f in sorted((demo_data/'trainA').iterdir())[:4]: (d/f.name).write_bytes(f.read_bytes())
    for n, o in extra.items():
        if isinstance(o, bytes): (d/n).write_bytes(o)
        else: o.save(d/n)
    return d

def _truncated(demo_data, ext):
    im = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    import io; b = io.BytesIO(); im.save(b, format='PNG' if ext == 'png' else 'JPEG'); return b.getvalue()[:len(b.getvalue())//2]

@pytest.mark.parametrize('name,data,when', [('text.jpg', b'just some text', 'check'), ('zero.png', b'', 'check'),
                                            ('cut.png', 'png', 'load'), ('cut.jpg', 'jpg', 'load')])
def test_bad_files_are_named(tmp_path, demo_data, name, data, when):
    if isinstance(data, str): data = _truncated(demo_data, data)
    d = _folder(tmp_path, demo_data, 'A', {name: data})
    with pytest.raises(InputError, match=name.replace('.', r'\.')):
        dls = get_dls(d, demo_data/'trainB', load_size=32, crop_size=32, bs=1, num_workers=0)
        for i in range(len(dls.train_ds)): dls.train_ds[i]           # a damaged file is named when it is decoded
    with warnings.catch_warnings(record=True) as w:                  # with on_bad='skip' it is left out, named, and counted
        warnings.simplefilter('always')
        dls = get_dls(d, demo_data/'trainB', load_size=32, crop_size=32, bs=1, num_workers=0, on_bad='skip')
    assert any(f'skipped 1 unreadable image file(s) of 5' in str(o.message) and name in str(o.message) for o in w)
    assert len(dls.train_ds) == 6 and all(dls.train_ds[i][0].shape == (3, 32, 32) for i in range(4))

def test_odd_but_valid_images_are_converted(tmp_path, demo_data):
    odd = {'rgba.png': Image.new('RGBA', (40, 30), (255, 0, 0, 128)), 'gray.png': Image.new('L', (30, 40), 128),
           'pal.png': Image.new('RGB', (32, 32), 'blue').convert('P'), 'cmyk.jpg': Image.new('CMYK', (32, 32), (0, 255, 0, 0)),
           'deep.png': Image.fromarray(np.full((32, 32), 40000, dtype=np.uint16)), 'tiny.png': Image.new('RGB', (8, 8), 'green'),
           'strip.png': Image.new('RGB', (1024, 40), 'white')}
    d = _folder(tmp_path, demo_data, 'A', odd)
    dls = get_dls(d, demo_data/'trainB', load_size=32, crop_size=32, bs=1, num_workers=0)
    xs = [dls.train_ds[i][0] for i in range(len(dls.train_ds))]
    assert len(xs) == 11 and all(x.shape == (3, 32, 32) for x in xs)

def test_symlink_loop_is_walked_once(tmp_path, demo_data):
    d = _folder(tmp_path, demo_data, 'A', {})
    (d/'again').symlink_to(d, target_is_directory=True)
    assert len(get_dls(d, demo_data/'trainB', load_size=32, crop_size=32, num_workers=0).train_ds) == 6   # 4 images, cycled to B's 6

@pytest.mark.skipif(os.geteuid() == 0, reason='root can read files whatever their permissions')
def test_unreadable_folder(tmp_path, demo_data):
    d = _folder(tmp_path, demo_data, 'A', {}); d.chmod(0)
    try:
        with pytest.raises(InputError, match='permission denied'): get_dls(d, demo_data/'trainB')
    finally: d.chmod(0o755)

def test_bs_and_workers(demo_data):
    with pytest.raises(InputError, match='bs=7 is larger than the 6 training'): get_dls(demo_data/'trainA', demo_data/'trainB', load_size=32, crop_size=32, bs=7)
    with pytest.warns(UserWarning, match='more than this machine'):
        get_dls(demo_data/'trainA', demo_data/'trainB', load_size=32, crop_size=32, num_workers=os.cpu_count() + 8)

def test_paired_mismatch_and_bad_files(tmp_path, demo_data):
    A = _folder(tmp_path, demo_data, 'A', {'only_in_A.png': Image.new('RGB', (32, 32))})
    B = _folder(tmp_path, demo_data, 'B', {'only_in_B.png': Image.new('RGB', (32, 32))})
    with pytest.raises(InputError, match='only_in_A'): get_paired_dls(A, B, load_size=32, crop_size=32, num_workers=0)
    (B/'only_in_B.png').rename(B/'only_in_A.png'); (A/'0000.png').write_bytes(b'broken')
    with pytest.raises(InputError, match='0000.png'): get_paired_dls(A, B, load_size=32, crop_size=32, num_workers=0)
