"""Training throughput of upit_ext against UPIT on the same work, measured side by side in one run.

    python bench/train_throughput.py                      # CycleGAN and GANILLA, 128x128, batch 2 (the issue's target setting)
    python bench/train_throughput.py --sizes 128 256 --bs 1 4 --iters 3   # the full matrix (slow on a CPU)

Both libraries train the same model configuration (ResNet-9 CycleGAN or GANILLA, 64 features) on the same images on disk (generated here),
with the same crop size, batch size, number of iterations and data loading (num_workers=0, in the timed loop). Each measurement runs in a
fresh subprocess, so its peak resident memory is its own, and the two libraries alternate. upit_ext runs its default training path
(bf16 autocast where the device supports bf16, channels_last on GPUs); `--plain` adds upit_ext's fp32 path for reference.
The first iteration is a warm-up, counted with torch's FlopCounterMode for the FLOPs of one iteration; the next `--iters` are timed.
Runs unchanged on a GPU (the model and batches go to the default device)."""
import numpy as np, argparse, json, os, resource, subprocess, sys, tempfile, time
from pathlib import Path
import torch

def matmul_peak(dtype, n=2048, reps=5, trials=3):
    "Measured matrix-multiply rate of this machine in FLOP/s for `dtype` (best of `trials`)"
    return max(_matmul_rate(dtype, n, reps) for _ in range(trials))

def _matmul_rate(dtype, n, reps):
    dev = 'cuda' if torch.cuda.is_available() else 'cpu'
    a, b = torch.randn(n, n, device=dev, dtype=dtype), torch.randn(n, n, device=dev, dtype=dtype)
    a @ b
    if dev == 'cuda': torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps): a @ b
    if dev == 'cuda': torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - t)

def worker(lib, model, size, bs, iters, data, plain):
    "Train `iters`+1 iterations with `lib` and print a JSON line of the measurements"
    from fastai.vision.all import Callback, CancelFitException, set_seed
    from torch.utils.flop_counter import FlopCounterMode
    set_seed(0)
    A, B = Path(data)/'trainA', Path(data)/'trainB'
    if lib == 'upit':
        from upit.data.unpaired import get_dls
        from upit.train.cyclegan import cycle_learner
        from upit.models.cyclegan import CycleGAN
        from upit.models.ganilla import GANILLA
        dls = get_dls(A, B, load_size=size, crop_size=size, bs=bs, num_workers=0)
        learn = cycle_learner(dls, (CycleGAN if model == 'cyclegan' else GANILLA)(3, 3, 64), show_imgs=False)
    else:
        from upit_ext.data.unpaired import get_dls
        from upit_ext.train.learners import cycle_learner
        from upit_ext.models.cyclegan import CycleGAN
        from upit_ext.models.ganilla import GANILLA
        dls = get_dls(A, B, load_size=size, crop_size=size, bs=bs, num_workers=0)
        kw = dict(mixed_precision=None, channels_last=False) if plain else {}
        learn = cycle_learner(dls, (CycleGAN if model == 'cyclegan' else GANILLA)(3, 3, 64), **kw)

    class Timer(Callback):
        order = 1000
        def before_fit(self): self.times, self.flops = [], None
        def before_batch(self):
            self.sync(); self.times.append(time.perf_counter())
            if self.iter == 0: self.fc = FlopCounterMode(display=False); self.fc.__enter__()
        def after_batch(self):
            if self.iter == 0: self.fc.__exit__(None, None, None); self.flops = self.fc.get_total_flops()
            if self.iter == iters:
                self.sync(); self.times.append(time.perf_counter()); raise CancelFitException
        def sync(self):
            if torch.cuda.is_available(): torch.cuda.synchronize()
    timer = Timer()
    with learn.no_bar(), learn.no_logging(): learn.fit(1, cbs=timer)
    elapsed = timer.times[-1] - timer.times[1]
    print(json.dumps(dict(imgs_per_s=bs * iters / elapsed, s_per_iter=elapsed / iters, flops=timer.flops, iter_s=list(np.diff(timer.times[1:])),
                          peak_rss_mb=peak_rss_mb())))

def peak_rss_mb()->float:
    "Peak resident memory of this process in MB: Linux's VmHWM (reset by exec), else `ru_maxrss` (which exec may carry over from the parent)"
    try: return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')) / 1024
    except (OSError, StopIteration): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != 'darwin' else 1024**2)

def measure(lib, model, size, bs, iters, data, plain=False):
    cmd = [sys.executable, __file__, '--worker', lib, model, str(size), str(bs), str(iters), str(data)] + (['--plain'] if plain else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode: sys.exit(f'{lib} {model} failed:\n{r.stderr[-3000:]}')
    return json.loads(r.stdout.strip().splitlines()[-1])

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--models', nargs='+', default=['cyclegan', 'ganilla'], choices=['cyclegan', 'ganilla'])
    p.add_argument('--sizes', nargs='+', type=int, default=[128])
    p.add_argument('--bs', nargs='+', type=int, default=[2])
    p.add_argument('--iters', type=int, default=3, help='timed iterations after one warm-up iteration')
    p.add_argument('--repeats', type=int, default=1, help='alternating repeats of each pair of measurements (the median is kept)')
    p.add_argument('--plain', action='store_true', help="also measure upit_ext's fp32 path (no bf16, no channels_last)")
    p.add_argument('--worker', nargs=6, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker: return worker(*a.worker[:2], *map(int, a.worker[2:5]), a.worker[5], a.plain)
    from upit_ext.data.demo import make_demo_data
    from upit_ext.train.callbacks import bf16_supported
    data = make_demo_data(Path(tempfile.mkdtemp())/'bench', n_train=32, n_test=1, size=max(a.sizes))
    peak32, peak16 = matmul_peak(torch.float32), matmul_peak(torch.bfloat16)
    dev = torch.cuda.get_device_name() if torch.cuda.is_available() else f'CPU ({os.cpu_count()} cores)'
    print(f'device: {dev}; torch {torch.__version__}; bf16 native: {bf16_supported()}')
    print(f'measured matmul peak: fp32 {peak32/1e9:.0f} GFLOP/s, bf16 {peak16/1e9:.0f} GFLOP/s')
    print(f'{"model":9} {"size":>4} {"bs":>3} {"library":16} {"img/s":>7} {"s/iter":>7} {"GFLOP/iter":>10} {"% of peak":>9} {"peak RSS MB":>11} {"speed-up":>8}')
    libs = [('upit', False), ('upit_ext', False)] + [('upit_ext', True)] * a.plain
    for model in a.models:
        for size in a.sizes:
            for bs in a.bs:
                runs = {l: [] for l in libs}
                for _ in range(a.repeats):
                    for l in libs: runs[l].append(measure(l[0], model, size, bs, a.iters, data, l[1]))
                med = {l: sorted(v, key=lambda o: o['imgs_per_s'])[len(v)//2] for l,v in runs.items()}
                base = med[('upit', False)]['imgs_per_s']
                for (lib, plain), r in med.items():
                    peak = peak32 if lib == 'upit' or plain or not bf16_supported() else peak16
                    name = lib + (' (fp32)' if plain else ' (default)' if lib == 'upit_ext' else '')
                    print(f'{model:9} {size:4d} {bs:3d} {name:16} {r["imgs_per_s"]:7.3f} {r["s_per_iter"]:7.2f} {r["flops"]/1e9:10.0f} '
                          f'{100*r["flops"]/r["s_per_iter"]/peak:8.0f}% {r["peak_rss_mb"]:11.0f} {r["imgs_per_s"]/base:7.2f}x', flush=True)

if __name__ == '__main__': main()
