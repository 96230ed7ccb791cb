"`upit_ext train` and `upit_ext translate`, end to end with tiny settings."
import contextlib, io
import pytest, torch
from PIL import Image
from conftest import run_cli
from upit_ext.cli import main
from upit_ext.inference import load_generator

TINY = ['--load-size', 32, '--crop-size', 32, '--epochs', 1, '--epochs-decay', 0, '--bs', 2, '--n-features', 4, '--num-workers', 0]

def run_main(*args):
    "(exit code, stdout, stderr) of `main(args)` in this process"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: rc = main([str(o) for o in args])
        except SystemExit as e: rc = e.code
    return rc, out.getvalue(), err.getvalue()

@pytest.mark.parametrize('cmd,opts', [('train', ['--pathA', '--paired-path', '--epochs-decay', '--wandb-project', '--out']),
                                      ('translate', ['--model', '--input', '--output', '--tile', '--direction'])])
def test_help(cmd, opts):
    rc, out, _ = run_main(cmd, '--help')
    assert rc == 0 and all(o in out for o in opts)
    rc, out, _ = run_main('--help')
    assert rc == 0 and cmd in out

def test_cyclegan_train_then_translate(tmp_path, demo_data):
    "As a user would: train from the shell, then translate a folder with the exported generator"
    out = tmp_path/'run'
    r = run_cli('train', 'cyclegan', '--pathA', demo_data/'trainA', '--pathB', demo_data/'trainB', '--gen-blocks', 1, *TINY, '--out', out)
    assert r.returncode == 0, r.stderr
    assert {f.name for f in out.iterdir()} >= {'G_AtoB.pth', 'G_BtoA.pth', 'model', 'losses.png'}
    assert load_generator(out/'G_BtoA.pth').export_info['direction'] == 'BtoA'
    r = run_cli('translate', '--model', out/'G_AtoB.pth', '--input', demo_data/'testA', '--output', tmp_path/'fakeB')
    assert r.returncode == 0, r.stderr
    assert sorted(f.name for f in (tmp_path/'fakeB').iterdir()) == ['0000.png', '0001.png']
    assert Image.open(tmp_path/'fakeB'/'0000.png').size == Image.open(demo_data/'testA'/'0000.png').size
    # a second run would overwrite: one line, no traceback, exit code 2
    r = run_cli('translate', '--model', out/'G_AtoB.pth', '--input', demo_data/'testA', '--output', tmp_path/'fakeB')
    assert r.returncode == 2 and r.stderr.strip().count('\n') == 0 and 'Traceback' not in r.stderr
    assert r.stderr.startswith('upit_ext: error: ') and "0000.png' exists" in r.stderr
    # so would training into the same folder, refused before training
    rc, _, err = run_main('train', 'cyclegan', '--pathA', demo_data/'trainA', '--pathB', demo_data/'trainB', '--out', out)
    assert rc == 2 and "G_AtoB.pth' exists" in err

def test_pix2pix_paired_by_name_then_translate_tiled(tmp_path):
    from upit_ext.data.paired import make_paired_demo
    data = make_paired_demo(tmp_path/'paired', n_train=4, n_test=2, size=32)
    out = tmp_path/'run'
    rc, stdout, err = run_main('train', 'pix2pix', '--pathA', data/'trainA', '--pathB', data/'trainB', '--paired', '--n-downs', 5, *TINY, '--out', out)
    assert rc == 0, err
    assert 'G.pth' in stdout and (out/'G.pth').exists() and (out/'model'/'config.json').exists()
    big = tmp_path/'big'; big.mkdir()
    Image.open(data/'testA'/'0000.png').resize((100, 70)).save(big/'photo.jpg')
    rc, stdout, err = run_main('translate', '--model', out/'G.pth', '--input', big, '--output', tmp_path/'fake', '--tile', 64)
    assert rc == 0, err
    im = Image.open(tmp_path/'fake'/'photo.png')
    assert (im.mode, im.size) == ('RGB', (100, 70))

@pytest.mark.parametrize('args,msg', [
    (['translate', '--model', 'nope.pth', '--input', '.', '--output', 'x'], "--model: '"),
    (['train', 'pix2pix', '--pathA', 'a'], 'pix2pix learns from pairs'),
    (['train', 'cyclegan', '--paired-path', 'a'], 'cyclegan learns from unpaired folders'),
])
def test_errors_are_one_line(tmp_path, args, msg):
    rc, _, err = run_main(*args)
    assert rc == 2 and err.count('\n') == 1 and err.startswith('upit_ext: error: ') and msg in err, err

def test_bad_model_file_is_one_line(tmp_path, demo_data):
    (tmp_path/'G.pth').write_text('not a model')
    r = run_cli('translate', '--model', tmp_path/'G.pth', '--input', demo_data/'testA', '--output', tmp_path/'o')
    assert r.returncode == 2 and 'Traceback' not in r.stderr and 'is not a generator file written by export_generator' in r.stderr

def test_wandb_project_logs_offline(tmp_path, demo_data, monkeypatch):
    monkeypatch.setenv('WANDB_MODE', 'offline')
    rc, _, err = run_main('train', 'cyclegan', '--pathA', demo_data/'trainA', '--pathB', demo_data/'trainB', '--gen-blocks', 1, *TINY,
                          '--wandb-project', 'upit-ext-tests', '--out', tmp_path/'run')
    assert rc == 0, err
    assert any((tmp_path/'run'/'wandb').glob('offline-run-*'))
