"Bad input to the paired loaders, `translate` and the CLI: each case is a clear error (or, with on_bad='skip', a warning) naming the file or argument."
import io, os, shutil, warnings
import numpy as np
import pytest, torch
from PIL import Image
from conftest import run_cli
from upit_ext.core import InputError
from upit_ext.data.paired import get_paired_dls, get_side_by_side_dls, make_paired_demo
from upit_ext.inference import OutputExistsError, export_generator, translate
from upit_ext.models.cyclegan import CycleGAN
from upit_ext.models.pix2pix import Pix2Pix

root_only = pytest.mark.skipif(os.geteuid() == 0, reason='root can read files whatever their permissions')
KW = dict(load_size=32, crop_size=32, bs=1, num_workers=0)

def _truncated(fmt:str)->bytes:
    "The first half of a 64x64 noise image in `fmt`"
    b = io.BytesIO(); Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(b, format=fmt)
    return b.getvalue()[:len(b.getvalue())//2]

BAD = [('text.jpg', b'just some text'), ('zero.png', b''), ('cut.png', _truncated('PNG')), ('cut.jpg', _truncated('JPEG'))]
ODD = {'rgba.png': lambda: Image.new('RGBA', (40, 30), (255, 0, 0, 128)), 'gray.png': lambda: Image.new('L', (30, 40), 128),
       'pal.png': lambda: Image.new('RGB', (32, 32), 'blue').convert('P'), 'cmyk.jpg': lambda: Image.new('CMYK', (32, 32), (0, 255, 0, 0)),
       'deep.png': lambda: Image.fromarray(np.full((32, 32), 40000, dtype=np.uint16)), 'tiny.png': lambda: Image.new('RGB', (8, 8), 'green'),
       'strip.png': lambda: Image.new('RGB', (1024, 40), 'white')}

def _write(d, extra:dict):
    "Write `extra` {name: bytes or PIL image} into the folder `d`"
    for n, o in extra.items():
        if isinstance(o, bytes): (d/n).write_bytes(o)
        else: o.save(d/n)

# --- paired loaders ------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def paired(tmp_path_factory):
    "4 two-folder pairs (trainA, trainB) and 4 side-by-side pairs (sbs/train, sbs/val) of 32x32 images"
    root = tmp_path_factory.mktemp('paired')
    make_paired_demo(root/'sbs', n_train=4, n_test=1, size=32, side_by_side=True)
    return make_paired_demo(root, n_train=4, n_test=1, size=32)

def _copy(tmp_path, paired, extraA:dict=None, extraB:dict=None, sbs:dict=None):
    "`(A, B, S)`: copies of the two-folder pairs and of the side-by-side training pairs, with extra files"
    A, B, S = (shutil.copytree(paired/p, tmp_path/n) for p,n in (('trainA', 'A'), ('trainB', 'B'), ('sbs/train', 'S')))
    for d,e in ((A, extraA), (B, extraB), (S, sbs)): _write(d, e or {})
    return A, B, S

def _both(A, B, S, **kwargs):
    "Call both paired loaders, with `KW` and `kwargs`"
    return [get_paired_dls(A, B, **{**KW, **kwargs}), get_side_by_side_dls(S, **{**KW, **kwargs})]

def _decode_all(dls):
    for ds in (dls.train_ds, dls.valid_ds):
        for i in range(len(ds)): ds[i]

@pytest.mark.parametrize('case,arg', [('missing', 'pathA'), ('file', 'pathA'), ('empty', 'pathB'), ('text', 'pathB'), ('loop', 'pathA')])
def test_paired_bad_paths(tmp_path, paired, case, arg):
    bad = tmp_path/'bad'
    if case == 'file': bad = paired/'trainA'/'0000.png'
    elif case == 'empty': bad.mkdir()
    elif case == 'text': bad.mkdir(); (bad/'readme.txt').write_text('x')
    elif case == 'loop': bad.symlink_to(bad)
    msg = {'missing': 'does not exist', 'file': 'is a file, expected a folder', 'empty': 'no image files', 'text': 'none with an image extension',
           'loop': ''}[case]
    A, B = (bad, paired/'trainB') if arg == 'pathA' else (paired/'trainA', bad)
    with pytest.raises(InputError, match=f"{arg}: '?.*{msg}") as e: get_paired_dls(A, B, **KW)
    assert str(bad) in str(e.value)
    with pytest.raises(InputError, match=f"path: '?.*{msg}") as e: get_side_by_side_dls(bad, **KW)
    assert str(bad) in str(e.value)

def test_paired_symlink_loop_is_called_a_loop(tmp_path):
    (tmp_path/'loop').symlink_to(tmp_path/'loop')
    with pytest.raises(InputError, match='symbolic link'): get_side_by_side_dls(tmp_path/'loop', **KW)

def test_paired_symlink_loops_inside(tmp_path, paired):
    "A link from a folder to itself is walked once; a file link to itself is named as unreadable"
    A, B, S = _copy(tmp_path, paired)
    for d in (A, S): (d/'again').symlink_to(d, target_is_directory=True)
    assert [len(d.train_ds) for d in _both(A, B, S, valid_pct=0)] == [4, 4]
    (S/'self.png').symlink_to(S/'self.png')
    with pytest.raises(InputError, match=r"self\.png' \(OSError: .*Too many levels of symbolic links"): get_side_by_side_dls(S, **KW)

@pytest.mark.parametrize('name,data', BAD)
def test_paired_bad_files(tmp_path, paired, name, data):
    partner = {name.split('.')[0] + '.png': Image.new('RGB', (32, 32))}
    A, B, S = _copy(tmp_path, paired, {name: data}, partner, {name: data})
    for load in (lambda: get_paired_dls(A, B, **KW), lambda: get_side_by_side_dls(S, **KW)):
        with pytest.raises(InputError, match=name.replace('.', r'\.')):
            _decode_all(load())           # bad headers are refused at once, damage further in when the image is decoded
    with warnings.catch_warnings(record=True) as w:   # on_bad='skip': left out (the partner too), named and counted
        warnings.simplefilter('always')
        dls = _both(A, B, S, valid_pct=0, on_bad='skip')
    msgs = [str(o.message) for o in w]
    for arg in ('pathA', 'path'): assert any(m.startswith(f'{arg}: skipped 1 unreadable image file(s) of 5') and name in m for m in msgs), msgs
    assert any(f"pathB: left out 1 image(s) whose partner is unreadable: {list(partner)[0]}" in m for m in msgs), msgs
    for d in dls:
        assert len(d.train_ds) == 4
        _decode_all(d)

def test_paired_odd_images_are_converted(tmp_path, paired):
    "RGBA, grayscale, palette, CMYK, 16-bit, 8x8 and 1024x40 images load, as 3-channel 32x32 tensors"
    odd = {n: f() for n,f in ODD.items()}
    A, B, S = _copy(tmp_path, paired, odd, odd, odd)
    for d in _both(A, B, S, valid_pct=0, bs=11):
        assert len(d.train_ds) == 11
        xa, xb = d.one_batch()
        assert xa.shape == xb.shape == (11, 3, 32, 32)
    a, b = get_paired_dls(A, B, **{**KW, 'mode_A': 'L', 'bs': 11}, valid_pct=0).one_batch()
    assert (a.shape, b.shape) == ((11, 1, 32, 32), (11, 3, 32, 32))

@root_only
def test_paired_unreadable(tmp_path, paired):
    A, B, S = _copy(tmp_path, paired)
    (A/'0001.png').chmod(0); (S/'0001.png').chmod(0)
    try:
        for load in (lambda: get_paired_dls(A, B, **KW), lambda: get_side_by_side_dls(S, **KW)):
            with pytest.raises(InputError, match=r"0001\.png.*[Pp]ermission denied"): load()
        S.chmod(0)
        with pytest.raises(InputError, match='permission denied'): get_side_by_side_dls(S, **KW)
    finally: S.chmod(0o755); (A/'0001.png').chmod(0o644); (S/'0001.png').chmod(0o644)

def test_paired_arguments(paired):
    A, B, S = paired/'trainA', paired/'trainB', paired/'sbs'
    for load in (lambda **k: get_paired_dls(A, B, **{**KW, **k}), lambda **k: get_side_by_side_dls(S, **{**KW, **k})):
        with pytest.raises(InputError, match='crop_size=40 is larger than load_size=32'): load(crop_size=40)
        with pytest.raises(InputError, match='crop_size=0 must be positive'): load(crop_size=0)
        with pytest.raises(InputError, match=r'bs=9 is larger than the \d training pairs'): load(bs=9)
        with pytest.raises(InputError, match='bs=0 must be at least 1'): load(bs=0)
        with pytest.raises(InputError, match='num_workers=-1 must be 0 or more'): load(num_workers=-1)
        with pytest.warns(UserWarning, match=f"num_workers={os.cpu_count()+8} is more than this machine's"): load(num_workers=os.cpu_count() + 8)

# --- translate -----------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def gen_file(tmp_path_factory):
    "A tiny CycleGAN generator, exported"
    torch.manual_seed(0)
    return export_generator(CycleGAN(3, 3, n_features=4, gen_blocks=1), tmp_path_factory.mktemp('gen')/'G.pth')

def _src(tmp_path, extra:dict=None):
    "A folder of 3 small images and the `extra` files"
    d = tmp_path/'src'; d.mkdir()
    for i in range(3): Image.new('RGB', (32, 24), (80*i, 40, 0)).save(d/f'{i}.png')
    _write(d, extra or {})
    return d

def _clean(dest):
    "Every file in `dest` is a complete image: no temporary or half-written file"
    for f in (dest.rglob('*') if dest.exists() else []):
        assert not f.name.startswith('.'), f
        with Image.open(f) as im: im.load()

@pytest.mark.parametrize('case,msg', [('missing', 'does not exist'), ('empty', 'the folder is empty'), ('text', 'none with an image extension'),
                                      ('loop', 'is a symbolic link that loops or leads nowhere')])
def test_translate_bad_src(tmp_path, gen_file, case, msg):
    src = tmp_path/'in'
    if case == 'empty': src.mkdir()
    elif case == 'text': src.mkdir(); (src/'notes.txt').write_text('x')
    elif case == 'loop': src.symlink_to(src)
    with pytest.raises(InputError, match=f"src: .*{msg}"): translate(src, gen_file, tmp_path/'out', progress=False)
    assert not (tmp_path/'out').exists()

def test_translate_dest_is_a_file(tmp_path, gen_file):
    (tmp_path/'out.png').write_bytes(b'precious')
    with pytest.raises(InputError, match="dest: '.*out.png' is a file"): translate(_src(tmp_path), gen_file, tmp_path/'out.png', progress=False)
    assert (tmp_path/'out.png').read_bytes() == b'precious'

@pytest.mark.parametrize('name,data', BAD)
def test_translate_bad_files(tmp_path, gen_file, name, data):
    src, out = _src(tmp_path, {name: data}), tmp_path/'out'
    out.mkdir(); (out/'mine.txt').write_text('precious')
    with pytest.raises(InputError, match=rf"src: .*{name.replace('.', '[.]')}"): translate(src, gen_file, out, bs=1, progress=False)
    with pytest.raises(InputError, match=rf"src: .*{name.replace('.', '[.]')}"): translate(src/name, gen_file, progress=False)
    if not name.startswith('cut'): assert sorted(o.name for o in out.iterdir()) == ['mine.txt']   # refused before any work
    (out/'mine.txt').unlink(); _clean(out); shutil.rmtree(out)
    with pytest.warns(UserWarning, match=rf"src: skipped 1 unreadable image file\(s\) of 4: .*{name.replace('.', '[.]')}"):
        outs = translate(src, gen_file, out, on_bad='skip', progress=False)
    assert sorted(o.name for o in outs) == ['0.png', '1.png', '2.png'] == sorted(o.name for o in out.iterdir())
    _clean(out)
    with pytest.raises(InputError, match=rf"none of the 1 images could be read: .*{name.replace('.', '[.]')}"):
        translate(src/name, gen_file, on_bad='skip', progress=False)

def test_translate_truncated_midway_names_what_was_written(tmp_path, gen_file):
    src = _src(tmp_path, {'2.png': _truncated('PNG')})
    with pytest.raises(InputError, match=r"2\.png': image file is truncated; the 2 translations before it are complete"):
        translate(src, gen_file, tmp_path/'out', bs=1, num_workers=1, progress=False)
    assert sorted(o.name for o in (tmp_path/'out').iterdir()) == ['0.png', '1.png']
    _clean(tmp_path/'out')

@pytest.mark.parametrize('tile', [None, 16])
def test_translate_tiny_and_strip(tmp_path, gen_file, tile):
    src = _src(tmp_path, {'tiny.png': ODD['tiny.png'](), 'strip.png': ODD['strip.png'](), 'gray.png': ODD['gray.png'](), 'deep.png': ODD['deep.png']()})
    outs = translate(src, gen_file, tmp_path/'out', tile=tile, progress=False)
    for o in outs:
        with Image.open(o) as im, Image.open(src/o.name) as ref: assert (im.mode, im.size) == ('RGB', ref.size), o
    # a pix2pix generator takes sides that are multiples of 32, at least 32: the same images come back at their own sizes
    p = export_generator(Pix2Pix(3, 3, n_features=4, n_downs=5), tmp_path/'P.pth')
    assert [im.size for im in translate([src/'tiny.png', src/'strip.png'], p, progress=False)] == [(8, 8), (1024, 40)]

@root_only
def test_translate_unreadable_file(tmp_path, gen_file):
    src = _src(tmp_path); (src/'1.png').chmod(0)
    try:
        with pytest.raises(InputError, match=r"1\.png.*[Pp]ermission denied"): translate(src, gen_file, tmp_path/'out', progress=False)
    finally: (src/'1.png').chmod(0o644)

def test_translate_symlink_loops_inside(tmp_path, gen_file):
    src = _src(tmp_path); (src/'again').symlink_to(src, target_is_directory=True)
    assert len(translate(src, gen_file, tmp_path/'out', progress=False)) == 3   # the folder is walked once
    (src/'self.png').symlink_to(src/'self.png')
    with pytest.raises(InputError, match=r"self\.png': .*Too many levels of symbolic links"): translate(src, gen_file, tmp_path/'out2', progress=False)

def _model_files(tmp_path, gen_file)->dict:
    "Damaged generator files, and files of other kinds and architectures, with the message each must give"
    good = gen_file.read_bytes()
    ck = torch.load(gen_file, weights_only=True)
    fs = {'cut.pth': (good[:len(good)//2], 'the file may be truncated or damaged'), 'empty.pth': (b'', 'the file may be truncated or damaged'),
          'text.pth': (b'hello', 'is not a generator file written by export_generator')}
    for n,(b,_) in fs.items(): (tmp_path/n).write_bytes(b)
    torch.save(CycleGAN(3, 3, n_features=4, gen_blocks=1).state_dict(), tmp_path/'state_dict.pth'); fs['state_dict.pth'] = (None, 'no upit_ext header')
    torch.save({**ck, 'state_dict': Pix2Pix(3, 3, n_features=4, n_downs=5).G.state_dict()}, tmp_path/'mixed.pth')
    fs['mixed.pth'] = (None, r'is damaged: its weights do not fit upit_ext.models.layers:resnet_generator\(')
    torch.save(Pix2Pix(3, 3, n_features=4, n_downs=5), tmp_path/'pickled.pth'); fs['pickled.pth'] = (None, 'which are not loaded for safety')
    return {tmp_path/n: m for n,(_,m) in fs.items()}

def test_translate_bad_model_files(tmp_path, gen_file):
    src = _src(tmp_path)
    for f,msg in _model_files(tmp_path, gen_file).items():
        with pytest.raises(InputError, match=rf"model: '.*{f.name}' .*{msg}"): translate(src, f, tmp_path/'out', progress=False)
    assert not (tmp_path/'out').exists()

def test_translate_never_overwrites_with_bad_input(tmp_path, gen_file):
    "Skipping bad files does not open a way to overwrite: dest set to src is refused and nothing changes"
    src = _src(tmp_path, {'text.jpg': b'x', 'cut.png': _truncated('PNG')})
    before = {f.name: f.read_bytes() for f in src.iterdir()}
    with pytest.raises(OutputExistsError): translate(src, gen_file, src, on_bad='skip', progress=False)
    assert {f.name: f.read_bytes() for f in src.iterdir()} == before

# --- the CLI -------------------------------------------------------------------------------------------------------------------

import contextlib
from upit_ext.cli import main

def run_main(*args):
    "(exit code, stdout, stderr) of `main(args)` in this process"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: rc = main([str(o) for o in args])
        except SystemExit as e: rc = e.code
    return rc, out.getvalue(), err.getvalue()

T = ['--epochs', 1, '--epochs-decay', 0, '--n-features', 4, '--gen-blocks', 1, '--num-workers', 0]

def _one_line_error(rc, err, *names):
    assert rc == 2 and err.count('\n') == 1 and err.startswith('upit_ext: error: ') and 'Traceback' not in err, err
    for n in names: assert str(n) in err, err

@pytest.fixture(scope='module')
def cli_data(tmp_path_factory, paired):
    root = tmp_path_factory.mktemp('cli')
    (root/'empty').mkdir(); (root/'docs').mkdir(); (root/'docs'/'a.txt').write_text('x')
    return root

@pytest.mark.parametrize('case', ['missing', 'empty', 'docs', 'crop', 'bs', 'bs_pairs', 'bs0_pairs', 'sbs_missing', 'workers_neg', 'size'])
def test_cli_train_refuses(tmp_path, demo_data, paired, cli_data, case):
    A, B, S = demo_data/'trainA', demo_data/'trainB', ['--load-size', 32, '--crop-size', 32]
    args, names = {
        'missing': (['cyclegan', '--pathA', cli_data/'nope', '--pathB', B, *S], ['pathA', cli_data/'nope', 'does not exist']),
        'empty': (['cyclegan', '--pathA', cli_data/'empty', '--pathB', B, *S], ['pathA', cli_data/'empty', 'the folder is empty']),
        'docs': (['cyclegan', '--pathA', A, '--pathB', cli_data/'docs', *S], ['pathB', cli_data/'docs', 'none with an image extension']),
        'crop': (['cyclegan', '--pathA', A, '--pathB', B, '--load-size', 32, '--crop-size', 40], ['--crop-size 40 is larger than --load-size 32']),
        'bs': (['cyclegan', '--pathA', A, '--pathB', B, *S, '--bs', 9], ['--bs 9 is larger than the 6 training']),
        'bs_pairs': (['pix2pix', '--pathA', paired/'trainA', '--pathB', paired/'trainB', '--paired', *S, '--bs', 9], ['--bs 9 is larger than the 3 training pairs']),
        'bs0_pairs': (['pix2pix', '--paired-path', paired/'sbs', *S, '--bs', 0], ['--bs 0 must be at least 1']),
        'sbs_missing': (['pix2pix', '--paired-path', cli_data/'nope', *S], [cli_data/'nope', 'does not exist']),
        'workers_neg': (['cyclegan', '--pathA', A, '--pathB', B, *S, '--num-workers', -2], ['--num-workers -2 must be 0 or more']),
        'size': (['cyclegan', '--pathA', A, '--pathB', B, '--load-size', 32, '--crop-size', 30], ['multiples of 4', 'got 30x30']),
    }[case]
    rc, _, err = run_main('train', args[0], *T, *args[1:], '--out', tmp_path/'run')   # the last of two --num-workers wins
    _one_line_error(rc, err, *names)
    assert not any((tmp_path/'run').glob('*'))   # refused before anything was written

def test_cli_size_error_names_the_option(tmp_path, demo_data):
    rc, _, err = run_main('train', 'cyclegan', '--pathA', demo_data/'trainA', '--pathB', demo_data/'trainB', '--load-size', 32, '--crop-size', 30, *T,
                          '--out', tmp_path/'run')
    _one_line_error(rc, err, '--crop-size')

def test_cli_train_bs0_unpaired(tmp_path, demo_data):
    rc, _, err = run_main('train', 'cyclegan', '--pathA', demo_data/'trainA', '--pathB', demo_data/'trainB', '--load-size', 32, '--crop-size', 32,
                          '--bs', 0, *T, '--out', tmp_path/'run')
    _one_line_error(rc, err, '--bs 0')

def test_cli_train_too_many_workers(tmp_path, demo_data, monkeypatch):
    import upit_ext.commands as commands
    def stop(*args, **kwargs): raise KeyboardInterrupt   # the data is checked before the model is made: stop there, training nothing
    monkeypatch.setattr(commands, '_train_model', stop)
    rc, _, err = run_main('train', 'cyclegan', '--pathA', demo_data/'trainA', '--pathB', demo_data/'trainB', '--load-size', 32, '--crop-size', 32,
                          *T[:-2], '--num-workers', os.cpu_count() + 8, '--out', tmp_path/'run')
    _one_line_error(rc, err, 'num-workers')

def test_cli_train_end_to_end_one_line(tmp_path, demo_data, cli_data):
    "In a real process: an empty --pathA is one line on stderr, exit code 2, no traceback"
    r = run_cli('train', 'cyclegan', '--pathA', cli_data/'empty', '--pathB', demo_data/'trainB', *T, '--out', tmp_path/'run')
    _one_line_error(r.returncode, r.stderr, 'pathA', 'the folder is empty')

@pytest.mark.parametrize('case', ['text', 'cut', 'loop', 'model'])
def test_cli_translate_refuses(tmp_path, gen_file, case):
    src, model = _src(tmp_path, {'text': {'notes.jpg': b'x'}, 'cut': {'2.png': _truncated('PNG')}}.get(case)), gen_file
    if case == 'loop': src = tmp_path/'loop'; src.symlink_to(src)
    if case == 'model': model = tmp_path/'pickled.pth'; torch.save(Pix2Pix(3, 3, n_features=4, n_downs=5), model)
    r = run_cli('translate', '--model', model, '--input', src, '--output', tmp_path/'out', '--bs', 1)
    names = {'text': ['--input: ', 'notes.jpg', 'cannot identify image file'], 'cut': ['--input: ', "2.png': image file is truncated"],
             'loop': ['--input: ', 'is a symbolic link that loops'], 'model': ['--model: ', 'pickled.pth', 'not loaded for safety']}[case]
    _one_line_error(r.returncode, r.stderr, *names)
    _clean(tmp_path/'out')

def test_cli_translate_tiny_and_strip(tmp_path, gen_file):
    src = tmp_path/'src'; src.mkdir(); _write(src, {'tiny.png': ODD['tiny.png'](), 'strip.png': ODD['strip.png']()})
    r = run_cli('translate', '--model', gen_file, '--input', src, '--output', tmp_path/'out')
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr
    assert sorted(Image.open(f).size for f in (tmp_path/'out').iterdir()) == [(8, 8), (1024, 40)]
