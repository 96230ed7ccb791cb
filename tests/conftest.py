import os, sys, subprocess
from pathlib import Path
import pytest

os.environ.setdefault('WANDB_MODE', 'offline')
os.environ.setdefault('WANDB_SILENT', 'true')
os.environ.setdefault('UPIT_EXT_CACHE', __import__('tempfile').mkdtemp(prefix='upit_ext_cache_'))   # translate's ONNX exports: not in ~/.cache

def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: long-running tests (the soak test); run by `make test` and CI')
    config.addinivalue_line('markers', 'matrix: the cells of a cross product that a diagonal already samples (run by `make test`, not by the reruns against other fastai versions)')

@pytest.fixture(scope='session')
def demo_data(tmp_path_factory):
    "A small unpaired demo dataset (day/night landscapes), made once per test session"
    from upit_ext.data.demo import make_demo_data
    return make_demo_data(tmp_path_factory.mktemp('data')/'demo', n_train=6, n_test=2, size=32)

def run_cli(*args, cwd=None, timeout=600):
    "Run `python -m upit_ext ARGS` and return the CompletedProcess"
    return subprocess.run([sys.executable, '-m', 'upit_ext', *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout)

@pytest.fixture(scope='session')
def paired_data(tmp_path_factory):
    "A small paired demo dataset (grayscale and colour landscapes, matched by name), made once per test session"
    from upit_ext.data.paired import make_paired_demo
    return make_paired_demo(tmp_path_factory.mktemp('paired')/'p', n_train=4, n_test=2, size=32)

@pytest.fixture(autouse=True)
def _no_wandb_run_left():
    "Finish any wandb run a test left open (a failing or expected-to-fail test can stop before its `wandb.finish()`), so the next test starts its own"
    yield
    wandb = sys.modules.get('wandb')
    if wandb is not None and getattr(wandb, 'run', None) is not None: wandb.finish()
