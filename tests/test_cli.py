"The `upit_ext` console script, run as a user would run it."
import shutil, subprocess, sys
import torch
from PIL import Image
from conftest import run_cli

def test_help():
    r = run_cli('--help')
    assert r.returncode == 0 and 'demo' in r.stdout
    r = run_cli('demo', '--help')
    assert r.returncode == 0 and '--epochs' in r.stdout and '--out' in r.stdout
    assert run_cli().returncode == 1

def test_console_script_installed():
    exe = shutil.which('upit_ext') or str(__import__('pathlib').Path(sys.executable).parent/'upit_ext')
    r = subprocess.run([exe, '--help'], capture_output=True, text=True)
    assert r.returncode == 0 and 'demo' in r.stdout

def test_demo_writes_its_files(tmp_path):
    out = tmp_path/'demo out'
    r = run_cli('demo', '--epochs', 2, '--size', 32, '--n-images', 6, '--bs', 2, '--out', out)
    assert r.returncode == 0, r.stderr
    assert str(out.resolve()) in r.stdout
    grid = Image.open(out/'translations.png')
    assert grid.size == (4*32*2, 8*32*2)
    assert Image.open(out/'losses.png').size[0] > 100
    # the generators are export_generator files: `upit_ext translate` takes them
    r = run_cli('translate', '--model', out/'G_AtoB.pth', '--input', out/'data'/'testA', '--output', out/'translated')
    assert r.returncode == 0, r.stderr
    assert len(list((out/'translated').glob('*.png'))) == len(list((out/'data'/'testA').glob('*.png')))
    # translations are not blank: the generator produced varied pixels
    px = torch.tensor(list(grid.crop((64, 0, 128, 64)).get_flattened_data())).float()
    assert px.std() > 5

def test_demo_bad_size_is_one_line(tmp_path):
    r = run_cli('demo', '--size', 30, '--out', tmp_path/'x')
    assert r.returncode == 2
    assert r.stderr.strip().count('\n') == 0 and 'upit_ext: error: --size 30' in r.stderr
    assert 'Traceback' not in r.stderr
