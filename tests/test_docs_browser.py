"""The documentation site (`make docs`, in `_docs/`) in a real browser: Debian's headless Chromium, driven through chromedriver.

Each page below is opened from a local HTTP server; the test checks its headings, that every image on it loaded (and that the pages
with output images have them), that its equations are rendered as MathML and its tables as HTML tables, that every internal link
answers 200 and that its anchor exists, and takes a screenshot (kept in a temporary folder, named in the output). Another test types
an API name into the site's search box and follows a result.
Skipped when the site is not built or Chromium, chromedriver or selenium is missing, unless UPIT_EXT_REQUIRE_BROWSER=1 (as in CI),
where any of those is a failure.
"""
import functools, http.server, sys, tempfile, threading
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.request import urlopen
from urllib.error import HTTPError
import pytest
from _browser import chromium, need as _need

SITE = Path(__file__).resolve().parent.parent/'_docs'

# page, headings it must show (h1 first), and what else must be on it: at least `min_images` images (every one of them loaded),
# `min_equations` equations displayed as MathML (no TeX left), `min_tables` tables of notebook outputs (DataFrames)
PAGES = {
    'index.html': dict(h1='upit_ext', h2=['Get started', 'Unpaired translation: CycleGAN and GANILLA', 'Try it without data'], min_images=1),
    'models.cyclegan.html': dict(h1='CycleGAN', h2=['The objective', 'Loading UPIT and reference checkpoints'],
                                 h3=['CycleGAN', 'load_junyanz_generator'], min_images=0, min_equations=5, min_tables=2),
    'tutorials/unpaired.html': dict(h1='Unpaired translation on your own folders', h2=['The data', 'CycleGAN', 'GANILLA'], min_images=3),
}

@pytest.fixture(scope='module')
def server():
    "The built site on http://127.0.0.1:PORT/ (a free port), from Python's http.server"
    _need((SITE/'index.html').exists(), f'the docs site is not built ({SITE}/index.html missing): run `make docs`')
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):   # the browser dropping a request it no longer needs is no error
            if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)): super().handle_error(request, client_address)
    httpd = Server(('127.0.0.1', 0), functools.partial(Quiet, directory=str(SITE)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True); t.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    httpd.shutdown(); httpd.server_close()

@pytest.fixture(scope='module')
def browser():
    "Headless Chromium through Debian's chromedriver, with a fresh profile"
    with chromium(60, log=True) as drv: yield drv

@pytest.fixture(scope='module')
def shots():
    d = Path(tempfile.mkdtemp(prefix='upit_ext-docs-screenshots-'))
    print(f'\nscreenshots in {d}')
    return d

def _status(url:str)->int:
    try:
        with urlopen(url, timeout=10) as r: return r.status
    except HTTPError as e: return e.code

def _texts(drv, css): return [e.text.strip() for e in drv.find_elements('css selector', css) if e.text.strip()]

@pytest.mark.parametrize('page', list(PAGES))
def test_page_in_browser(page, server, browser, shots):
    from selenium.webdriver.support.ui import WebDriverWait
    want = PAGES[page]
    url = urljoin(server, page)
    browser.get(url)
    WebDriverWait(browser, 30).until(lambda d: d.execute_script('return document.readyState') == 'complete')
    WebDriverWait(browser, 30).until(lambda d: d.execute_script('return [...document.images].every(i => i.complete)'))
    assert browser.title.startswith(want['h1']), browser.title

    # headings: the page title, and the sections the page must have
    article = 'article.md-content__inner'
    assert _texts(browser, f'{article} h1')[:1] == [want['h1']]
    for level in ('h2', 'h3'):
        got = [t.rstrip('¶').strip() for t in _texts(browser, f'{article} {level}')]
        for h in want.get(level, []): assert h in got, f'{page}: no <{level}> "{h}" among {got}'

    # the sidebar lists every page in the notebooks' order, index first, tutorials last
    nav = browser.execute_script("return [...document.querySelectorAll('nav.md-nav--primary a.md-nav__link[href]')].map(a => a.getAttribute('href'))")
    navs = [urlsplit(urljoin(url, h)).path.lstrip('/') for h in nav]
    navs = [n for n in navs if n.endswith('.html')]
    assert navs and navs[0] == 'index.html', navs
    assert navs.index('models.cyclegan.html') < navs.index('tutorials/unpaired.html'), navs

    # every image loaded (data: URIs of plots included)
    imgs = browser.execute_script("return [...document.querySelectorAll('article img')].map(i => [i.currentSrc.slice(0, 80), i.complete, i.naturalWidth])")
    assert len(imgs) >= want.get('min_images', 0), f'{page}: {len(imgs)} images, expected at least {want.get("min_images", 0)}'
    broken = [src for src, complete, w in imgs if not complete or w == 0]
    assert not broken, f'{page}: images that did not load: {broken}'

    # equations: MathML that the browser lays out (a real box, not zero-sized), and no `$$` TeX left in the text
    eqs = browser.execute_script("""return [...document.querySelectorAll('article math[display=block]')]
                                      .map(m => { const r = m.getBoundingClientRect(); return [r.width, r.height]; })""")
    assert len(eqs) >= want.get('min_equations', 0), f'{page}: {len(eqs)} displayed equations, expected at least {want.get("min_equations", 0)}'
    assert all(w > 50 and h > 10 for w, h in eqs), f'{page}: equations not laid out: {eqs}'
    text = browser.execute_script("return document.querySelector('article').innerText")
    assert '$$' not in text, f'{page}: TeX left unrendered: ...{text[max(0, text.find("$$") - 80):text.find("$$") + 80]}...'

    # notebook outputs that are tables (parameter counts, shapes) are HTML tables, not printed text
    n_tables = browser.execute_script("return document.querySelectorAll('article .jp-OutputArea-output table.dataframe').length")
    assert n_tables >= want.get('min_tables', 0), f'{page}: {n_tables} output tables, expected at least {want.get("min_tables", 0)}'

    # every internal link resolves, and its anchor exists on the target page
    links = browser.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href)")
    internal = sorted({l for l in links if l.startswith(server)})
    assert internal, f'{page}: no internal links'
    ids = {}
    for l in internal:
        u = urlsplit(l)
        target = urlunsplit((u.scheme, u.netloc, u.path, u.query, ''))
        assert _status(target) == 200, f'{page}: link {l} -> HTTP {_status(target)}'
        if u.fragment and target.endswith('.html'):
            if target not in ids:
                from html.parser import HTMLParser
                class P(HTMLParser):
                    found = set()
                    def handle_starttag(self, tag, attrs):
                        for k, v in attrs:
                            if k in ('id', 'name') and v: self.found.add(v)
                p = P(); p.found = set()
                with urlopen(target, timeout=10) as r: p.feed(r.read().decode('utf-8', 'replace'))
                ids[target] = p.found
            assert u.fragment in ids[target], f'{page}: link {l}: no id "{u.fragment}" on {target}'

    # a screenshot of the whole page, which must not be blank
    height = browser.execute_script('return Math.min(document.body.scrollHeight, 6000)')
    browser.set_window_size(1400, max(1000, height))
    fn = shots/(page.replace('/', '_').replace('.html', '.png'))
    assert browser.save_screenshot(str(fn)) and fn.stat().st_size > 10_000, fn
    from PIL import Image
    im = Image.open(fn).convert('L')
    lo, hi = im.getextrema()
    assert hi - lo > 100, f'{fn}: the screenshot is nearly uniform'
    browser.set_window_size(1400, 1000)
    print(f'{page}: {len(imgs)} images, {len(internal)} internal links, screenshot {fn}')

def test_no_console_errors(server, browser):
    "The front page loads without JavaScript errors (Material's scripts, search)"
    browser.get(urljoin(server, 'index.html'))
    logs = browser.get_log('browser') if hasattr(browser, 'get_log') else []
    errors = [l for l in logs if l.get('level') == 'SEVERE' and '127.0.0.1' in l.get('message', '') and 'favicon' not in l.get('message', '')]
    assert not errors, errors

def test_search_index():
    "The search index MkDocs writes holds the API entries: `cycle_learner` and the page that documents it"
    import json
    idx = SITE/'search'/'search_index.json'
    _need(idx.exists(), f'no search index in the site ({idx} missing): run `make docs`')
    docs = json.loads(idx.read_text(encoding='utf-8'))['docs']
    hits = [d['location'] for d in docs if 'cycle_learner' in d.get('title', '') + d.get('text', '')]
    assert any(h.startswith('train.learners.html') for h in hits), hits[:10]

def test_search_in_browser(server, browser):
    "Typing an API name into Material's search box lists its page, and the first result opens it"
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    browser.get(urljoin(server, 'index.html'))
    WebDriverWait(browser, 30).until(lambda d: d.execute_script('return document.readyState') == 'complete')
    box = browser.find_element(By.CSS_SELECTOR, 'input.md-search__input')
    if not box.is_displayed(): browser.find_element(By.CSS_SELECTOR, 'label.md-header__button[for="__search"]').click()   # narrow window
    WebDriverWait(browser, 10).until(lambda d: box.is_displayed())
    box.click(); box.send_keys('cycle_learner')
    # the search worker loads the index, then lists the results as links; the list is re-rendered as results arrive, so its links
    # are read in one script (element by element, a link can be replaced between two reads: a stale element)
    links = WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return Array.from(document.querySelectorAll('.md-search-result__list a.md-search-result__link'), a => a.href)") or None)
    pages = [urlsplit(l).path.lstrip('/') for l in links]
    assert 'train.learners.html' in pages, pages
    assert _status(links[0].split('#')[0]) == 200, links[0]
