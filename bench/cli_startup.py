"""Wall time of the command line's start-up: `upit_ext --help`, `upit_ext translate --help` and a 1-image `upit_ext translate` with an ONNX
file, against `python -c "import torch"` in the same run, for this checkout and (with `--before DIR`) another checkout of upit_ext, in
alternation. Each command runs as a fresh process, `--repeats` times; the table gives medians and their ratio to importing torch.

    git worktree add /tmp/before <commit>; python bench/cli_startup.py --before /tmp/before --repeats 7
"""
import argparse, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

def timed(cmd:list, env:dict)->float:
    "Seconds that `cmd` takes as a process; it must succeed"
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())   # not this folder: `python -m` puts the working folder first
    if r.returncode: raise SystemExit(f"{' '.join(map(str, cmd))} failed: {r.stderr[-2000:]}")
    return time.perf_counter() - t

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--before', help='another checkout of upit_ext to compare with (its folder holding upit_ext/)')
    p.add_argument('--repeats', type=int, default=5)
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp())
    sys.path.insert(0, str(HERE))
    from PIL import Image
    from upit_ext.models.cyclegan import CycleGAN
    from upit_ext.use.export import export_onnx
    onnx = export_onnx(CycleGAN(3, 3), tmp/'g.onnx')   # the default ResNet-9 generator
    Image.new('RGB', (256, 256), 'gray').save(tmp/'a.png')
    trees = {'this checkout': HERE, **({'before': Path(a.before).resolve()} if a.before else {})}
    py = sys.executable
    cmds = {'python -c "import torch"': [py, '-c', 'import torch'], 'upit_ext --help': [py, '-m', 'upit_ext', '--help'],
            'upit_ext translate --help': [py, '-m', 'upit_ext', 'translate', '--help'],
            'upit_ext translate (1 image, ONNX)': [py, '-m', 'upit_ext', 'translate', '--model', str(onnx), '--input', str(tmp/'a.png'), '--output', None]}
    times = {(t, c): [] for t in trees for c in cmds}
    for i in range(a.repeats):
        for t, root in trees.items():
            env = {**os.environ, 'PYTHONPATH': str(root), 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '1')}
            for c, cmd in cmds.items():
                cmd = [o if o is not None else str(tmp/f'out_{t[0]}_{i}') for o in cmd]
                times[(t, c)].append(timed(cmd, env))
    med = {k: statistics.median(v) for k,v in times.items()}
    print(f"| command | {' | '.join(f'{t} (s)' for t in trees)} | {' | '.join(f'{t} / import torch' for t in trees)} |")
    print('|---|' + '---|' * 2 * len(trees))
    for c in cmds:
        print(f"| {c} | {' | '.join(f'{med[(t, c)]:.2f}' for t in trees)} | {' | '.join(f'{med[(t, c)] / med[(t, list(cmds)[0])]:.2f}' for t in trees)} |")

if __name__ == '__main__': main()
