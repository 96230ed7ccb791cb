"""The web app (`upit_ext.app.translation_app`) in a real browser: Debian's headless Chromium, driven through chromedriver.

A tiny CycleGAN's app is served on 127.0.0.1 (a free port) in this process; each test opens the page, uploads a file through the page's
file input, presses Translate and reads the translation the page shows (downloading the PNG the output image points to): it has the
input's size, differs from the input, and equals what `Translators` gives for the chosen direction. A text file shows an error in the page;
an image larger than the tile threshold goes through the tiled path.
Skipped when Chromium, chromedriver, selenium or Gradio is missing, unless UPIT_EXT_REQUIRE_BROWSER=1 (as in CI), where that is a failure.
"""
import io, os, socket
from pathlib import Path
from urllib.request import urlopen
import numpy as np
import pytest
from _browser import chromium, need as _need
from PIL import Image

TIMEOUT = 60

def _free_port()->int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def app():
    "A tiny CycleGAN's app on http://127.0.0.1:PORT/, served from a thread of this process"
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    try: import gradio  # noqa: F401
    except ImportError: _need(False, "gradio is not installed (pip install 'upit_ext[app]')")
    import torch
    from upit_ext.app import launch_app, TILE
    from upit_ext.models.registry import create_model
    torch.manual_seed(0)
    port = _free_port()
    demo = launch_app(create_model('cyclegan', 3, 3, n_features=8, gen_blocks=1), port=port, device='cpu', title='Tiny CycleGAN',
                      prevent_thread_lock=True, quiet=True, ssr_mode=False)   # 127.0.0.1, no share link: the defaults
    assert demo.translators.tile == TILE == 1024 and demo.share is False
    yield demo, f'http://127.0.0.1:{port}/'
    demo.close()

@pytest.fixture(scope='module')
def browser():
    "Headless Chromium through Debian's chromedriver, with a fresh profile"
    with chromium(TIMEOUT) as drv: yield drv

@pytest.fixture(scope='module')
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp('app')
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (90, 130, 3), dtype=np.uint8)).save(d/'small.png')
    Image.fromarray(rng.integers(0, 256, (700, 1100, 3), dtype=np.uint8)).save(d/'large.png')   # wider than the 1024-pixel threshold
    (d/'notes.txt').write_text('this is not an image\n')
    return d

def _wait(drv, cond, timeout=TIMEOUT):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(drv, timeout, poll_frequency=0.2).until(cond)

def _open(drv, url):
    drv.get(url)
    _wait(drv, lambda d: d.find_elements('css selector', '#upit-file input[type=file]') and d.find_elements('css selector', '#upit-translate'))

def _upload(drv, path:Path):
    drv.find_element('css selector', '#upit-file input[type=file]').send_keys(str(path))

def _status(drv)->str: return drv.execute_script("const e = document.querySelector('#upit-status'); return e ? e.innerText : ''")

def _output_src(drv)->str: return drv.execute_script("const i = document.querySelector('#upit-output img'); return i ? i.src : ''")

def _translate(drv, direction:str=None, old_src:str='')->Image.Image:
    "Choose `direction`, press Translate, wait for a new output image and download it"
    if direction is not None:
        drv.execute_script("document.querySelector(`#upit-direction input[value='${arguments[0]}']`).click()", direction)
        _wait(drv, lambda d: d.execute_script("return document.querySelector(`#upit-direction input[value='${arguments[0]}']`).checked", direction))
    drv.find_element('css selector', '#upit-translate').click()
    src = _wait(drv, lambda d: (s := _output_src(d)) and s != old_src and s)
    _wait(drv, lambda d: d.execute_script("const i = document.querySelector('#upit-output img'); return i.complete && i.naturalWidth > 0"))
    with urlopen(src, timeout=30) as r: return Image.open(io.BytesIO(r.read())), src

def test_translate_both_directions(app, browser, files):
    "Upload an image, translate it each way, read the translations back from the page"
    demo, url = app
    _open(browser, url)
    assert browser.title == 'Tiny CycleGAN'
    assert browser.find_element('css selector', '#upit-direction').is_displayed()   # two generators: a direction choice
    _upload(browser, files/'small.png')
    _wait(browser, lambda d: 'small.png' in _status(d) and '130x90' in _status(d))   # the preview of the upload
    src = Image.open(files/'small.png').convert('RGB')
    outs, old = {}, ''
    for d in ('AtoB', 'BtoA'):
        out, old = _translate(browser, d, old)
        _wait(browser, lambda b: f'{d})' in _status(b))
        assert out.size == src.size, (d, out.size, src.size)
        a = np.asarray(out.convert('RGB'))
        assert (a != np.asarray(src)).any(), f'{d}: the translation equals the input'
        np.testing.assert_array_equal(a, np.asarray(demo.translators(files/'small.png', d)))   # the PNG holds the generator's output exactly
        outs[d] = a
    assert (outs['AtoB'] != outs['BtoA']).any()
    assert 'Translated small.png (130x90, BtoA)' in _status(browser), _status(browser)

def test_not_an_image(app, browser, files):
    "A text file shows a clear message in the page, and no output"
    _, url = app
    _open(browser, url)
    _upload(browser, files/'notes.txt')
    _wait(browser, lambda d: 'Cannot translate' in _status(d))
    browser.find_element('css selector', '#upit-translate').click()
    _wait(browser, lambda d: 'Cannot translate notes.txt' in _status(d))
    msg = _status(browser)
    assert 'cannot read image' in msg and 'Traceback' not in msg, msg
    assert not _output_src(browser)

def test_large_image_tiled(app, browser, files):
    "A non-square image larger than the tile threshold is translated (in tiles) at its own size"
    demo, url = app
    _open(browser, url)
    _upload(browser, files/'large.png')
    _wait(browser, lambda d: '1100x700' in _status(d))
    out, _ = _translate(browser)
    assert out.size == (1100, 700), out.size
    assert 'in tiles of 1024 pixels' in _status(browser), _status(browser)
    assert demo.translators.tiled(out.size)
    assert (np.asarray(out.convert('RGB')) != np.asarray(Image.open(files/'large.png').convert('RGB'))).any()
