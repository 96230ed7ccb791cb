"""Headless Chromium for the browser tests (tests/test_docs_browser.py, tests/test_app_browser.py): Debian's chromium and chromedriver,
driven through selenium. A missing piece skips the test, unless UPIT_EXT_REQUIRE_BROWSER=1 (as in CI), where it fails it."""
import contextlib, os, shutil, tempfile
import pytest

REQUIRE = os.environ.get('UPIT_EXT_REQUIRE_BROWSER') == '1'
CHROME_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                '--no-first-run', '--disable-dev-shm-usage', '--window-size=1400,1000']

def need(ok:bool, why:str):
    "Skip (or, with UPIT_EXT_REQUIRE_BROWSER=1, fail) the test saying `why`, unless `ok`"
    if ok: return
    if REQUIRE: pytest.fail(why + ' (UPIT_EXT_REQUIRE_BROWSER=1)')
    pytest.skip(why)

def which(*names): return next((p for p in map(shutil.which, names) if p), None)

@contextlib.contextmanager
def chromium(timeout:int=60, log:bool=False):
    "A selenium driver of headless Chromium through Debian's chromedriver, with a fresh profile (and the console's messages if `log`)"
    chrome, driver_exe = which('chromium', 'chromium-browser', 'google-chrome'), which('chromedriver')
    need(chrome is not None and driver_exe is not None, 'chromium and chromedriver are not installed (apt-get install chromium chromium-driver)')
    try: from selenium import webdriver
    except ImportError: need(False, 'selenium is not installed (pip install selenium)')
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix='upit_ext-chromium-')
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for f in CHROME_FLAGS + [f'--user-data-dir={profile}']: opts.add_argument(f)
    if log: opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    drv = webdriver.Chrome(service=Service(executable_path=driver_exe), options=opts)   # an explicit driver: Selenium Manager never downloads
    drv.set_page_load_timeout(timeout)
    try: yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)
