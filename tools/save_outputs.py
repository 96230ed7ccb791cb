"""Run the notebooks and store their outputs in them, as nbdev projects keep them: GitHub shows them, and `nbdev_docs` (Quarto) renders them.

Each notebook runs in a fresh process from its own folder, as `nbdev_test` runs it (`#| eval: false` cells and the settings' `tst_flags`
skipped, `WANDB_MODE=offline`); the outputs go into the notebook's code cells (matched by cell id) and `nbdev_clean` then strips execution
counts and metadata. Stream outputs are cleaned as the docs build cleans them (progress bars dropped, fastai's results tables as HTML
tables). A notebook with a failing cell is left as it was, and the run fails naming it.

Usage: `python tools/save_outputs.py [NOTEBOOK ...] [--n_workers 2]` (default: every notebook under nbs/); `make outputs` runs it.
"""
from __future__ import annotations
import argparse, json, os, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def run_notebook(fn:Path)->float:
    "Execute `fn` and write its outputs into it; the seconds it took"
    os.environ.setdefault('WANDB_MODE', 'offline'); os.environ.setdefault('WANDB_SILENT', 'true')
    if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.process import NBProcessor
    from nbdev.frontmatter import FrontmatterProc
    sys.path.insert(0, str(ROOT/'tools'))
    from build_docs import skip_cell, _stream_outputs   # skip cells as nbdev_test does; clean streams as the docs build does
    _no_eval = skip_cell(set(get_config(path=ROOT).tst_flags.split()))
    start, nb = time.time(), NBProcessor(fn, procs=FrontmatterProc, process=True).nb
    k = CaptureShell(fn)
    try:
        with working_directory(fn.parent): k.run_all(nb, exc_stop=True, preproc=_no_eval)
    except BaseException: raise RuntimeError(f'{fn}: a cell failed, the notebook was not changed\n{k.prettytb(fname=fn)}') from None
    clean = lambda outs: [r for o in outs for r in (_stream_outputs(o) if o.get('output_type') == 'stream' else [o])]
    outs = {c.get('id'): clean(c.get('outputs', [])) for c in nb.cells if c.cell_type == 'code'}
    raw = json.loads(fn.read_text())
    for c in raw['cells']:
        if c['cell_type'] == 'code': c['outputs'] = json.loads(json.dumps(outs.get(c.get('id'), [])))
    fn.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + '\n')
    return time.time() - start

def _run_in_subprocess(nb:Path)->tuple:
    "Run `nb` in a fresh Python process (its data loaders may start worker processes of their own): (seconds, error or None)"
    start = time.time()
    r = subprocess.run([sys.executable, __file__, '--one', str(nb)], capture_output=True, text=True)
    return time.time() - start, (r.stderr[-5000:] or f'exit status {r.returncode}') if r.returncode else None

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('notebooks', nargs='*', type=Path, help='notebooks to run (default: all under nbs/)')
    p.add_argument('--n_workers', type=int, default=2)
    p.add_argument('--one', action='store_true', help=argparse.SUPPRESS)   # internal: run the one notebook given, in this process
    args = p.parse_args()
    if args.one: return run_notebook(args.notebooks[0].resolve())
    from nbdev.doclinks import nbglob
    nbs = [n.resolve() for n in args.notebooks] or sorted(Path(o) for o in nbglob(ROOT/'nbs', as_path=True))
    failed = []
    with ThreadPoolExecutor(args.n_workers) as ex:
        for nb, (secs, err) in zip(nbs, ex.map(_run_in_subprocess, nbs)):
            print(f'{nb.relative_to(ROOT)}: {secs:.0f} s' + (' FAILED' if err else ''), flush=True)
            if err: failed.append(nb); print(err, file=sys.stderr)
    subprocess.run([Path(sys.executable).parent/'nbdev_clean', '--fname', str(ROOT/'nbs')], check=True, cwd=ROOT)
    if failed: sys.exit(f'{len(failed)} notebook(s) failed: ' + ', '.join(str(n.relative_to(ROOT)) for n in failed))

if __name__ == '__main__': main()
