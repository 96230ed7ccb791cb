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

def test_app_command_serves_on_localhost(tmp_path):
    "`upit_ext app` starts the web app on 127.0.0.1 at --port, for a saved Hub folder; Ctrl-C (SIGINT) stops it"
    import os, signal, socket, time, urllib.request
    from upit_ext.models.cyclegan import CycleGAN
    from upit_ext.sharing import save_for_hub
    folder = save_for_hub(CycleGAN(3, 3, n_features=4, gen_blocks=1), tmp_path/'hub')
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    p = subprocess.Popen([sys.executable, '-m', 'upit_ext', 'app', '--model', str(folder), '--port', str(port)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, 'GRADIO_ANALYTICS_ENABLED': 'False'})
    try:
        for _ in range(240):
            if p.poll() is not None: break
            try:
                with urllib.request.urlopen(f'http://127.0.0.1:{port}/', timeout=2) as r: page = r.read().decode(); break
            except OSError: time.sleep(0.5)
        else: page = None
        assert p.poll() is None, p.communicate()[1]
        assert page is not None and 'gradio' in page.lower(), 'the app did not answer on 127.0.0.1'
    finally:
        p.send_signal(signal.SIGINT)
        try: p.wait(timeout=30)
        except subprocess.TimeoutExpired: p.kill()

def test_app_command_bad_input_is_one_line(tmp_path):
    r = run_cli('app', '--model', tmp_path/'nope.pth')
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and "--model: '" in r.stderr and 'nope.pth' in r.stderr, r.stderr
    r = run_cli('app', '--model', tmp_path/'nope.pth', '--port', 0)
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and '--port 0 is not a port number' in r.stderr, r.stderr
