"""Build the documentation site in `_docs/` without Quarto: execute the notebooks, process them with nbdev, render them with MkDocs.

nbdev's own `nbdev_docs` renders with Quarto, which is not installable everywhere; this does the same job with tools from PyPI:

1. every notebook under `nbs/` is run from top to bottom (as `nbdev_test` runs it: `#| eval: false` cells and the settings' `tst_flags`
   are skipped), with nbdev's documentation processors around the run: `show_doc` cells are added for exported names that have none,
   then exported and hidden cells are removed, directives stripped and names in backticks linked to their pages. The processed
   notebooks, with their outputs, go to `_proc/docs/`, named as nbdev names the pages (`05_models.cyclegan.ipynb` -> `models.cyclegan`);
2. MkDocs (theme `material`, notebooks through `mkdocs-jupyter`) renders them into `_docs/` with a sidebar in the notebooks' order;
3. every page is checked: each internal link and image must point to a file of the site (and an anchor in it) or the build fails.

Usage: `python tools/build_docs.py [--n_workers 2] [--force]`; `make docs` runs it (see `tools/build_docs.sh`).
A notebook is executed again only when it, a library file, settings.ini or this script changed since its page was built, unless `--force`.
"""
from __future__ import annotations
import argparse, hashlib, html as _html, html.parser, json, os, re, shutil, subprocess, sys, time, traceback
from pathlib import Path
from urllib.parse import urlsplit, unquote

ROOT = Path(__file__).resolve().parent.parent
PROC, SITE = ROOT/'_proc', ROOT/'_docs'
PAGES = PROC/'docs'   # MkDocs' docs_dir: the processed notebooks

def _cfg():
    from nbdev.config import get_config
    return get_config(path=ROOT)

# ---------------------------------------------------------------- 1. execute and process
def notebooks(cfg)->list:
    "The notebooks nbdev works on (as `nbdev_test` and `nbdev_export` find them), index first, then by path"
    from nbdev.doclinks import nbglob
    nbs = [Path(o) for o in nbglob(cfg.nbs_path, as_path=True)]
    return sorted(nbs, key=lambda p: (p.parent != cfg.nbs_path, p.relative_to(cfg.nbs_path).parent.as_posix(), p.name != 'index.ipynb', p.name))

def page_path(nb:Path, cfg)->Path:
    "Where the processed notebook goes: the page name nbdev gives it (numeric prefix dropped, lower case), under `PAGES`"
    from nbdev.doclinks import _nbpath2html
    return PAGES/_nbpath2html(nb.relative_to(cfg.nbs_path)).with_suffix('.ipynb')

def skip_cell(skip_flags:set):
    "The predicate `nbdev_test` uses: skip non-code cells, `nbdev_export()` calls, `#| eval: false` cells and cells with a flag in `skip_flags`"
    def _no_eval(cell):
        if cell.cell_type != 'code': return True
        if 'nbdev_export' + '(' in cell.source: return True
        direc = getattr(cell, 'directives_', None) or {}
        if direc.get('eval:', [''])[0].lower() == 'false': return True
        return skip_flags & direc.keys()
    return _no_eval

def _exec_proc(fn:Path, skip_flags:set):
    "An nbdev processor that runs the whole notebook `fn` (outputs stored in the cells), skipping cells as `nbdev_test` does"
    from execnb.shell import CaptureShell
    from nbdev.process import Processor
    _no_eval = skip_cell(skip_flags)

    class exec_all(Processor):
        def begin(self):
            k = CaptureShell(fn)
            k.run_cell('from nbdev.showdoc import show_doc')   # for the show_doc cells nbdev adds
            try: k.run_all(self.nb, exc_stop=True, preproc=_no_eval)
            except BaseException as e:
                raise RuntimeError(f'{fn}: a cell failed while executing the notebook for the docs\n{k.prettytb(fname=fn)}') from None
    return exec_all

_re_showdoc_line = re.compile(r'^\s*show_doc\((.+)\)\s*;?\s*$')

def _split_show_docs_proc():
    "An nbdev processor giving each `show_doc(...)` of a cell its own cell: a cell displays only its last expression"
    from nbdev.process import Processor
    from execnb.nbio import mk_cell
    class split_show_docs(Processor):
        def begin(self):
            cells = []
            for c in self.nb.cells:
                lines = [l for l in (c.source or '').splitlines() if l.strip()] if c.cell_type == 'code' else []
                if len(lines) > 1 and all(_re_showdoc_line.match(l) for l in lines):
                    for l in lines:
                        n = mk_cell(l.strip().rstrip(';')); n.directives_ = dict(getattr(c, 'directives_', None) or {}); cells.append(n)
                else: cells.append(c)
            self.nb.cells = cells
    return split_show_docs

def _nbdev_anchor(name:str)->str:
    "The id nbdev's links expect for the API entry `name` (Quarto's: lower case, dots and underscores kept)"
    return re.sub(r'[^\w.\-]', '', name.replace('\\', '').strip().lower().replace(' ', '-'))

_re_md_heading = re.compile(r'^(#{2,6})[ \t]+(.+?)[ \t]*$', re.M)

def _showdoc_heading(md:str)->str:
    "The heading of a `show_doc` output as HTML with the id nbdev's links use (`TranslationLearner.export` -> `translationlearner.export`)"
    def _h(m):
        n, name = len(m[1]), m[2].replace('\\', '')
        return f'<h{n} id="{_nbdev_anchor(name)}">{_html.escape(name)}</h{n}>'
    return _re_md_heading.sub(_h, md, count=1)

def _terminal(text:str)->str:
    "`text` as a terminal shows it: each line keeps what follows its last carriage return (progress bars vanish)"
    return '\n'.join(l.rsplit('\r', 1)[-1] for l in text.split('\n'))

_re_table_head = re.compile(r'^epoch(\s+\S+)+\s*$')

def _stream_outputs(o:dict)->list:
    "A captured stream output, cleaned as a terminal shows it, with fastai's results tables (`epoch  train_loss ...`) as HTML tables"
    text = _terminal(''.join(o['text']) if isinstance(o['text'], list) else o['text'])
    lines, res, buf, i = text.split('\n'), [], [], 0
    def flush():
        if buf and ''.join(buf).strip(): res.append({**o, 'text': '\n'.join(buf).strip('\n') + '\n'})
        buf.clear()
    while i < len(lines):
        head = lines[i].split()
        rows = []
        if o.get('name') == 'stdout' and _re_table_head.match(lines[i]):
            j = i + 1
            while j < len(lines) and re.match(r'^\d+\s', lines[j]) and len(lines[j].split()) == len(head): rows.append(lines[j].split()); j += 1
        if rows:
            flush()
            cells = lambda r, t: ''.join(f'<{t}>{_html.escape(v)}</{t}>' for v in r)
            table = (f'<div style="overflow-x:auto"><table class="dataframe fastai-results"><thead><tr>{cells(head, "th")}</tr></thead><tbody>'
                     + ''.join(f'<tr>{cells(r, "td")}</tr>' for r in rows) + '</tbody></table></div>')
            res.append({'output_type': 'display_data', 'metadata': {}, 'data': {'text/html': table, 'text/plain': '\n'.join(lines[i:j])}})
            i = j
        else: buf.append(lines[i]); i += 1
    flush()
    return res

def _page_link_prefix(cfg)->str:
    "The URL that nbdev's links to our own pages start with (`doc_host` + `doc_baseurl`)"
    return cfg.doc_host.rstrip('/') + '/' + cfg.doc_baseurl.strip('/') + '/' if cfg.doc_baseurl.strip('/') else cfg.doc_host.rstrip('/') + '/'

_re_ipynb_link = re.compile(r'\]\((?![a-z]+:)([^)\s#]+)\.ipynb((?:#[^)\s]*)?)\)')

def _ipynb_links(md:str)->str:
    "Links to notebooks (`[CycleGAN](05_models.cyclegan.ipynb)`) as links to their pages (`models.cyclegan.html`), as Quarto does"
    from nbdev.doclinks import _nbpath2html
    return _re_ipynb_link.sub(lambda m: f'](' + _nbpath2html(Path(m[1] + '.ipynb')).as_posix() + f'{m[2]})', md) if md else md

_re_attr_link = re.compile(r'\[([^\]\n]+)\]\(([^)\s]+)\)\{([^}\n]*)\}')

def _quarto_attrs(s:str)->str:
    "Pandoc's `[text](url){attr=...}` (show_doc's source links) as an HTML link, which Python-Markdown and mistune understand"
    return _re_attr_link.sub(lambda m: f'<a href="{m[2]}" {m[3]}>{m[1]}</a>', s) if s else s

def _mkdocs_proc(page:Path, cfg):
    "An nbdev processor that turns the Quarto-flavoured notebook into one MkDocs renders: title cell, directives as tags, relative links"
    from nbdev.process import Processor, extract_directives
    from execnb.nbio import mk_cell
    prefix, depth = _page_link_prefix(cfg), len(page.relative_to(PAGES).parts) - 1
    rel = '../' * depth
    def relink(s:str)->str: return s.replace(prefix, rel) if s else s

    class mkdocs_compat(Processor):
        def begin(self):
            fm = getattr(self.nb, 'frontmatter_', {}) or {}
            cells = self.nb.cells
            if cells and cells[0].cell_type == 'raw' and cells[0].source.lstrip().startswith('---'): cells.pop(0)
            if fm.get('title'):   # an HTML heading: no id, so that `#name` links reach the API entry of the same name, not the title
                desc = f"\n\n> {fm['description']}" if fm.get('description') else ''
                cells.insert(0, mk_cell(f"<h1>{_html.escape(fm['title'])}</h1>{desc}", 'markdown'))
            for i, c in enumerate(cells): c.idx_ = i

        def cell(self, cell):
            if cell.cell_type == 'markdown':
                cell.source = _ipynb_links(relink(cell.source))
                if '<!-- WARNING: THIS FILE WAS AUTOGENERATED' in cell.source: cell.source = None
                return
            if cell.cell_type == 'raw': cell.source = None; return
            if cell.cell_type != 'code': return
            d = extract_directives(cell, remove=True)                 # the Quarto options nbdev left in the source
            cell.source = '\n'.join(l for l in cell.source.splitlines() if not re.match(r'\s*#\|', l)).strip()
            opt = lambda k: str(d.get(k + ':', [''])[0]).lower()
            if opt('include') == 'false': cell.source = None; return
            sd = _re_showdoc_line.match(cell.source)
            if sd and not cell.get('outputs'):   # nbdev shows nothing for some objects (fastcore's `dispatch`): keep the anchor its links use
                cell.cell_type, cell.source = 'markdown', f'<a id="{_nbdev_anchor(sd[1].split(",")[0])}"></a>'
                cell.pop('outputs', None); cell.pop('execution_count', None)
                return
            tags = cell.metadata.setdefault('tags', [])
            if opt('echo') == 'false' or not cell.source: tags.append('remove_input')
            if opt('output') == 'false': tags.append('remove_output')
            cell.outputs = [r for o in cell.get('outputs', []) for r in (_stream_outputs(o) if o.get('output_type') == 'stream' else [o])]
            for o in cell.get('outputs', []):
                if sd and 'text/markdown' in o.get('data', {}):
                    v = o['data']['text/markdown']
                    o['data']['text/markdown'] = _showdoc_heading(''.join(v) if isinstance(v, list) else v)
                for k, f in (('text/markdown', lambda s: _quarto_attrs(relink(s))), ('text/html', relink)):
                    if k in o.get('data', {}):
                        v = o['data'][k]
                        o['data'][k] = [f(s) for s in v] if isinstance(v, list) else f(v)
            if not cell.source and not cell.get('outputs'): cell.source = None
    return mkdocs_compat

def process_notebook(nb:Path, dest:Path)->float:
    "Execute `nb` and write its processed version to `dest`; the seconds it took"
    os.environ['IN_TEST'] = '1'                        # as under nbdev_test
    os.environ.setdefault('WANDB_MODE', 'offline'); os.environ.setdefault('WANDB_SILENT', 'true')
    if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
    from execnb.nbio import read_nb, write_nb
    from nbdev.process import NBProcessor
    from nbdev.processors import FilterDefaults, add_show_docs, exec_show_docs
    cfg = _cfg()
    start, cwd = time.time(), os.getcwd()
    procs = list(FilterDefaults().procs())
    procs.remove(exec_show_docs)                     # the whole notebook is run instead, just after the show_doc cells are added
    procs.insert(procs.index(add_show_docs) + 1, _exec_proc(nb, set(cfg.tst_flags.split())))
    procs.insert(procs.index(add_show_docs), _split_show_docs_proc())
    procs.append(_mkdocs_proc(dest, cfg))
    os.chdir(nb.parent)
    try:
        n = read_nb(nb)
        NBProcessor(nb=n, procs=procs).process()
    finally: os.chdir(cwd)
    dest.parent.mkdir(parents=True, exist_ok=True)
    for c in n.cells: c.pop('directives_', None); c.pop('idx_', None); c.pop('_parsed_', None); c.pop('has_sd', None)
    write_nb(n, dest)
    return time.time() - start

def _worker(args):
    nb, dest = args
    try: return nb, process_notebook(nb, dest), None
    except BaseException as e: return nb, 0., f'{e}' if isinstance(e, RuntimeError) else traceback.format_exc()

def _child(conn, args):
    conn.send(_worker(args)); conn.close()

def run_isolated(todo:list, n_workers:int):
    "Yield `(notebook, seconds, error)` for each `(notebook, page)` of `todo`, each run in a process of its own, `n_workers` at a time"
    import multiprocessing as mp
    from multiprocessing.connection import wait
    # On Linux each notebook runs in a child forked from this process once torch and fastai are imported here: no notebook sees
    # another's state (a leaked torch.autocast, a patched function, an environment variable), and none pays for the imports again.
    ctx = mp.get_context('fork' if sys.platform.startswith('linux') else 'spawn')
    if ctx.get_start_method() == 'fork':
        if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
        try: import fastai.vision.all, upit_ext.all   # noqa: F401
        except Exception: pass                          # a broken library shows up in the notebooks, with its traceback
    pending, running = list(todo), []
    try:
        while pending or running:
            while pending and len(running) < max(1, n_workers):
                args = pending.pop(0)
                r, w = ctx.Pipe(duplex=False)
                p = ctx.Process(target=_child, args=(w, args)); p.start(); w.close()   # not a daemon: notebooks may start DataLoader workers
                running.append((p, r, args))
            wait([r for _, r, _ in running] + [p.sentinel for p, _, _ in running])
            for p, r, args in list(running):
                if r.poll():
                    try: res = r.recv()
                    except EOFError: res = (args[0], 0., f'the process running it died (exit code {p.exitcode})')
                elif not p.is_alive(): res = (args[0], 0., f'the process running it died (exit code {p.exitcode})')
                else: continue
                p.join(); r.close(); running.remove((p, r, args))
                yield res
    finally:                                            # interrupted: stop the notebooks still running
        for p, _, _ in running:
            if p.is_alive(): p.terminate()
            p.join()

STATE = PAGES/'.build.json'   # per page: the hash of what it was built from, and how long it took

def _inputs_hash(cfg)->str:
    "A hash of what every page depends on besides its notebook: the library, the settings and this script"
    h = hashlib.sha256()
    for f in sorted([*Path(cfg.lib_path).rglob('*.py'), ROOT/'settings.ini', Path(__file__).resolve()]):
        h.update(str(f.relative_to(ROOT)).encode()); h.update(f.read_bytes())
    return h.hexdigest()

def execute_all(n_workers:int=2, force:bool=False)->list:
    "Execute and process every notebook whose page is missing or was built from other inputs; the pages, in sidebar order"
    cfg = _cfg()
    nbs = notebooks(cfg)
    pages = [page_path(nb, cfg) for nb in nbs]
    if len(set(pages)) != len(pages): sys.exit('two notebooks map to the same page name: ' + ', '.join(map(str, nbs)))
    state = json.loads(STATE.read_text()) if STATE.exists() else {}
    common = _inputs_hash(cfg)
    key = {nb: hashlib.sha256(nb.read_bytes() + common.encode()).hexdigest() for nb in nbs}
    rel = lambda p: p.relative_to(PAGES).as_posix()
    todo = [(nb, p) for nb, p in zip(nbs, pages) if force or not p.exists() or state.get(rel(p), {}).get('hash') != key[nb]]
    if PAGES.exists():
        for p in PAGES.rglob('*.ipynb'):
            if p not in pages: p.unlink()               # a notebook that was renamed or removed
    # the longest first (as timed by the last build, else guessed from the training it does), so that the workers finish close together
    guess = lambda nb: nb.stat().st_size / 1000 + 20 * len(re.findall(r'\.fit(?:_flat_lin)?\(', nb.read_text(encoding='utf-8')))
    todo.sort(key=lambda o: -state.get(rel(o[1]), {}).get('seconds', guess(o[0])))
    print(f'executing {len(todo)} of {len(nbs)} notebooks with {n_workers} workers' + (' (the others are up to date)' if len(todo) < len(nbs) else ''), flush=True)
    failed = []
    if todo:
        for nb, t, err in run_isolated(todo, n_workers):
            p = page_path(nb, cfg)
            if err:
                failed.append(nb); print(f'\n{"=" * 60}\nFAILED {nb}\n{err}', file=sys.stderr, flush=True)
                if p.exists(): p.unlink()
                state.pop(rel(p), None)
            else:
                print(f'  {nb.relative_to(cfg.nbs_path)}: {t:.0f} s', flush=True)
                state[rel(p)] = dict(hash=key[nb], seconds=round(t, 1))
            STATE.parent.mkdir(parents=True, exist_ok=True)
            STATE.write_text(json.dumps(state, indent=1, sort_keys=True))
    if failed: sys.exit(f'docs: {len(failed)} notebook(s) failed: ' + ', '.join(str(nb.relative_to(cfg.nbs_path)) for nb in failed))
    return pages

# ---------------------------------------------------------------- 2. render
def _title(page:Path)->str:
    "The page title: the notebook's first level-1 heading"
    cells = json.loads(page.read_text(encoding='utf-8'))['cells']
    for c in cells:
        if c['cell_type'] == 'markdown':
            src = ''.join(c['source'])
            m = re.search(r'<h1>(.+?)</h1>', src) or re.search(r'^#\s+(.+?)\s*$', src, re.M)
            if m: return _html.unescape(re.sub(r'`([^`]*)`', r'\1', m.group(1)))
    return page.stem

def nav(pages:list)->list:
    "The sidebar: the top-level pages in notebook order (index first), then one section per subfolder (tutorials...)"
    res, sections = [], {}
    for p in pages:
        rel = p.relative_to(PAGES)
        entry = {_title(p): rel.as_posix()}
        if len(rel.parts) == 1: res.append(entry)
        else: sections.setdefault(rel.parts[0], []).append(entry)
    return res + [{k.replace('_', ' ').capitalize(): v} for k, v in sections.items()]

def mkdocs_config(cfg, pages:list)->dict:
    return {
        'site_name': cfg.lib_name,
        'site_description': cfg.description,
        'site_url': _page_link_prefix(cfg),
        'repo_url': cfg.git_url,
        'edit_uri': '',
        'docs_dir': str(PAGES),
        'site_dir': str(SITE),
        'use_directory_urls': False,     # pages are NAME.html as with nbdev and Quarto, so nbdev's links and anchors work
        'strict': True,
        'validation': {'nav': {'omitted_files': 'warn', 'not_found': 'warn', 'absolute_links': 'warn'},
                       'links': {'not_found': 'warn', 'absolute_links': 'info', 'unrecognized_links': 'warn'}},
        'theme': {'name': 'material', 'font': False,  # no Google Fonts: the site works offline
                  'features': ['navigation.sections', 'navigation.expand', 'navigation.top', 'toc.follow', 'content.code.copy'],
                  'palette': {'primary': 'indigo'}},
        'nav': nav(pages),
        'plugins': ['search', {'mkdocs-jupyter': {
            'execute': False,            # executed in step 1, with nbdev's processors around the run
            'include_source': False, 'ignore_h1_titles': False, 'no_prompt': True, 'toc_depth': 3, 'cache': False,
            'remove_tag_config': {'remove_input_tags': ['remove_input'], 'remove_all_outputs_tags': ['remove_output']}}}],
        'hooks': [str(Path(__file__).resolve().parent/'mkdocs_hooks.py')],   # the table of contents of each page
        'markdown_extensions': ['tables', 'admonition', 'toc'],
    }

def render(pages:list):
    import yaml
    cfg = _cfg()
    conf = PROC/'mkdocs.yml'
    conf.write_text(yaml.safe_dump(mkdocs_config(cfg, pages), sort_keys=False), encoding='utf-8')
    if SITE.exists(): shutil.rmtree(SITE)
    r = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--strict', '--clean', '-q', '-f', str(conf)], cwd=PROC,
                       env={**os.environ, 'NO_MKDOCS_2_WARNING': '1'})
    if r.returncode: sys.exit(f'docs: mkdocs build failed (exit status {r.returncode})')
    (SITE/'.nojekyll').touch()

# ---------------------------------------------------------------- 3. check
class _Refs(html.parser.HTMLParser):
    "The ids of a page and the URLs it refers to (links, images, scripts, stylesheets)"
    def __init__(self):
        super().__init__(); self.ids, self.refs = set(), []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ('id', 'name') if tag == 'a' else ('id',):
            if a.get(k): self.ids.add(a[k])
        for k in ('href', 'src'):
            if a.get(k) is not None and tag in ('a', 'img', 'link', 'script', 'source', 'iframe'): self.refs.append((tag, a[k]))

def check_links(site:Path=SITE, base:str=None)->list:
    "Every internal link, image, script and stylesheet of the HTML pages under `site` that points to no file (or no anchor) of the site"
    if base is None: base = urlsplit(_page_link_prefix(_cfg())).path   # where the site is published: '/upit_ext/'
    site = site.resolve()
    pages = {p.resolve(): _Refs() for p in site.rglob('*.html')}
    for p, r in pages.items(): r.feed(p.read_text(encoding='utf-8', errors='replace'))
    bad = []
    for p, r in pages.items():
        where = p.relative_to(site)
        for tag, url in r.refs:
            u = urlsplit(url)
            if u.scheme or u.netloc or url == '': continue          # external (http, data:, mailto:...), or mkdocs-jupyter's empty MathJax src
            path = unquote(u.path)
            if path.startswith('/'):                                 # absolute (404.html): relative to where the site is published
                if not path.startswith(base): bad.append(f'{where}: <{tag}> {url} -> outside {base}'); continue
                target = (site/path[len(base):]).resolve()
            else: target = (p.parent/path).resolve() if path else p
            if target.is_dir(): target = target/'index.html'
            if not target.is_file() or site not in target.parents:
                bad.append(f'{where}: <{tag}> {url} -> no such file in the site'); continue
            frag = unquote(u.fragment)
            if frag and target in pages and frag not in pages[target].ids:
                bad.append(f'{where}: <{tag}> {url} -> no id "{frag}" in {target.relative_to(site)}')
    return bad

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n_workers', type=int, default=int(os.environ.get('DOCS_WORKERS', 2)))
    p.add_argument('--force', action='store_true', help='execute every notebook, even those whose page is up to date')
    p.add_argument('--check-only', action='store_true', help='only check the links of the built site')
    a = p.parse_args()
    start = time.time()
    if not a.check_only:
        pages = execute_all(a.n_workers, a.force)
        t = time.time()
        render(pages)
        print(f'rendered {len(pages)} pages with MkDocs in {time.time() - t:.0f} s')
    if not (SITE/'index.html').exists(): sys.exit(f'docs: no site in {SITE}: run `make docs`')
    bad = check_links()
    if bad:
        print('\n'.join(['broken links in the site:', *bad]), file=sys.stderr)
        sys.exit(f'docs: {len(bad)} broken internal link(s)')
    print(f'docs: {SITE.relative_to(ROOT)}/ built and its internal links checked in {time.time() - start:.0f} s')

if __name__ == '__main__': main()
