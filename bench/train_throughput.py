"""Training throughput of upit_ext against UPIT on the same work, measured side by side in one run.

    python bench/train_throughput.py                      # CycleGAN and GANILLA, 128x128, batch 2 (the issue's target setting)
    python bench/train_throughput.py --sizes 128 256 --bs 1 4 --iters 3   # the full matrix (slow on a CPU)
    python bench/train_throughput.py --models dualgan --repeats 2         # DualGAN: UPIT's dual_learner against ours
    python bench/train_throughput.py --against-cyclegan --models cut fastcut --settings 256x1 128x2   # CUT, FastCUT against CycleGAN (upit_ext)

Both libraries train the same model configuration (ResNet-9 CycleGAN or GANILLA, 64 features) on the same images on disk (generated here),
with the same crop size, batch size, number of iterations and data loading (num_workers=0, in the timed loop). DualGAN: both libraries'
`dual_learner` with their defaults, which are the same recipe (`DualGAN(3, 64, 3)`, U-Nets of 7 levels, Wasserstein critics clipped at 0.1,
2 critic steps per generator step, fastai's RMSProp, reconstruction weight 1, no identity term). Their trainers spread a cycle (one generator
step and its 2 critic steps) over different numbers of batches (UPIT 3, upit_ext 2), so for DualGAN the warm-up and the timed window are
6 iterations each (whole cycles of both) and the time per generator step is reported too: the fair comparison. Each measurement runs in a
fresh subprocess, so its peak resident memory is its own, and the two libraries alternate. upit_ext runs its default training path
(bf16 autocast where the device supports bf16, channels_last on GPUs); `--plain` adds upit_ext's fp32 path for reference.
The first iteration (DualGAN: the first 6) is a warm-up, counted with torch's FlopCounterMode for the FLOPs of one iteration (their mean);
the next `--iters` are timed.
`--against-cyclegan`: upit_ext only, each model of `--models` (CUT and FastCUT: UPIT has no CUT; `cut_aa`, `fastcut_aa` with the
reference's antialiased networks) against upit_ext's CycleGAN, all on the default path, alternating, at each `--settings` SIZExBATCH;
the fastest of `--repeats` runs is kept. `--clock cpu --threads 1` times the CPU time of one thread, which other jobs disturb least.
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

def _plain_batches():
    "A callback that hands UPIT's DualGAN trainer plain tensors: its loss adds a `TensorImageA` to a `TensorImageB`, which fastai 2.8 refuses"
    from fastai.vision.all import Callback, Tensor
    class PlainBatches(Callback):
        order = -1   # before UPIT's `DualGANTrainer`
        def before_batch(self): self.learn.xb, self.learn.yb = [tuple(t.as_subclass(Tensor) for t in b) for b in (self.xb, self.yb)]
    return PlainBatches()

def worker(lib, model, size, bs, iters, data, plain):
    "Train `warmup`+`iters` iterations with `lib` and print a JSON line of the measurements"
    from fastai.vision.all import Callback, CancelFitException, set_seed
    from torch.utils.flop_counter import FlopCounterMode
    set_seed(0)
    A, B = Path(data)/'trainA', Path(data)/'trainB'
    warmup = 6 if model == 'dualgan' else 1
    if model == 'dualgan' and lib == 'upit':
        from fastai.vision.all import RMSProp
        from upit.data.unpaired import get_dls
        from upit.train.dualgan import dual_learner
        from upit.models.dualgan import DualGAN
        dls = get_dls(A, B, load_size=size, crop_size=size, bs=bs, num_workers=0)
        learn = dual_learner(dls, DualGAN(3, 64, 3), opt_func=RMSProp, show_imgs=False, imgA=False, imgB=False, show_img_interval=False,
                             cbs=[_plain_batches()])
        learn.lr = 2e-4
    elif model == 'dualgan':
        from upit_ext.data.unpaired import get_dls
        from upit_ext.train.learners import dual_learner
        from upit_ext.models.dualgan import DualGAN
        dls = get_dls(A, B, load_size=size, crop_size=size, bs=bs, num_workers=0)
        kw = dict(mixed_precision=None, channels_last=False) if plain else {}
        learn = dual_learner(dls, DualGAN(3, 64, 3), **kw)
    elif model.startswith(('cut', 'fastcut')):   # upit_ext only; '_aa': the reference's antialiased networks
        from upit_ext.data.unpaired import get_dls
        from upit_ext.models.registry import create_model
        from upit_ext.train.learners import learner_for
        dls = get_dls(A, B, load_size=size, crop_size=size, bs=bs, num_workers=0)
        m = create_model(model.removesuffix('_aa'), antialias=model.endswith('_aa'))
        learn = learner_for(m)(dls, m, **(dict(mixed_precision=None, channels_last=False) if plain else {}))
    elif lib == 'upit':
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

    G, D = (m.G_B, m.D_B) if hasattr(m := learn.model, 'G_B') else (m.G, m.D)   # which networks stepped: one weight of each, compared
    class Timer(Callback):
        order = 1000
        def before_fit(self): self.times, self.flops, self.steps = [], None, []
        def before_batch(self):
            self.sync(); self.times.append(_clock())
            if self.iter == 0: self.fc = FlopCounterMode(display=False); self.fc.__enter__()
            if self.iter >= warmup: self.w = [next(n.parameters()).detach().clone() for n in (G, D)]
        def after_batch(self):
            if self.iter == warmup - 1: self.fc.__exit__(None, None, None); self.flops = self.fc.get_total_flops() / warmup
            if self.iter >= warmup: self.steps.append([not torch.equal(w, next(n.parameters())) for w,n in zip(self.w, (G, D))])
            if self.iter == warmup + iters - 1:
                self.sync(); self.times.append(_clock()); raise CancelFitException
        def sync(self):
            if torch.cuda.is_available(): torch.cuda.synchronize()
    timer = Timer()
    with learn.no_bar(), learn.no_logging(): learn.fit(1, cbs=timer)
    elapsed = timer.times[-1] - timer.times[warmup]
    gen_steps, disc_steps = (int(sum(s[i] for s in timer.steps)) for i in (0, 1))
    print(json.dumps(dict(imgs_per_s=bs * iters / elapsed, s_per_iter=elapsed / iters, flops=timer.flops, iter_s=list(np.diff(timer.times[warmup:])),
                          gen_steps=gen_steps, disc_steps=disc_steps, s_per_gen_step=elapsed / max(gen_steps, 1), peak_rss_mb=peak_rss_mb())))


def peak_rss_mb()->float:
    "Peak resident memory of this process in MB: Linux's VmHWM (reset by exec), else `ru_maxrss` (which exec may carry over from the parent)"
    try: return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')) / 1024
    except (OSError, StopIteration): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != 'darwin' else 1024**2)

def _clock()->float:
    "Wall-clock seconds, or with BENCH_CLOCK=cpu the CPU time of this process (steadier than wall time when other jobs share the cores)"
    return time.process_time() if os.environ.get('BENCH_CLOCK') == 'cpu' else time.perf_counter()

def measure(lib, model, size, bs, iters, data, plain=False):
    cmd = [sys.executable, __file__, '--worker', lib, model, str(size), str(bs), str(iters), str(data)] + (['--plain'] if plain else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode: sys.exit(f'{lib} {model} failed:\n{r.stderr[-3000:]}')
    return json.loads(r.stdout.strip().splitlines()[-1])

_one_sided = ['cut', 'fastcut', 'cut_aa', 'fastcut_aa']

def against_cyclegan(models:list, settings:list, iters:int, repeats:int, data):
    "Measure upit_ext's `models` and its CycleGAN alternately at each SIZExBATCH of `settings`; print s/iter (the fastest of `repeats` runs), peak memory and ratios to CycleGAN"
    print(f'{"model":11} {"size":>4} {"bs":>3} {"s/iter":>7} {"GFLOP/iter":>10} {"peak RSS MB":>11} {"speed vs CycleGAN":>17} {"memory vs CycleGAN":>18}')
    for size, bs in (map(int, o.split('x')) for o in settings):
        runs = {m: [] for m in ['cyclegan', *models]}
        for _ in range(repeats):
            for m in runs: runs[m].append(measure('upit_ext', m, size, bs, iters, data))
        med = {m: min(v, key=lambda o: o['s_per_iter']) for m,v in runs.items()}   # the least disturbed run: other jobs only slow a run down
        base = med['cyclegan']
        for m, r in med.items():
            each = ' '.join(f"{o['s_per_iter']:.2f}" for o in runs[m])
            print(f'{m:11} {size:4d} {bs:3d} {r["s_per_iter"]:7.2f} {r["flops"]/1e9:10.0f} {r["peak_rss_mb"]:11.0f} {base["s_per_iter"]/r["s_per_iter"]:16.2f}x '
                  f'{r["peak_rss_mb"]/base["peak_rss_mb"]:17.2f}x   (s/iter of each run: {each})', flush=True)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--models', nargs='+', default=['cyclegan', 'ganilla'], choices=['cyclegan', 'ganilla', 'dualgan', *_one_sided])
    p.add_argument('--sizes', nargs='+', type=int, default=[128])
    p.add_argument('--bs', nargs='+', type=int, default=[2])
    p.add_argument('--iters', type=int, default=None, help='timed iterations after the warm-up (default: 3; 6 for dualgan, whole cycles of both trainers)')
    p.add_argument('--repeats', type=int, default=1, help='alternating repeats of each pair of measurements (the median is kept)')
    p.add_argument('--plain', action='store_true', help="also measure upit_ext's fp32 path (no bf16, no channels_last)")
    p.add_argument('--against-cyclegan', action='store_true', help="upit_ext only: each of --models against upit_ext's CycleGAN, at --settings")
    p.add_argument('--settings', nargs='+', default=['256x1', '128x2'], help='SIZExBATCH settings of --against-cyclegan')
    p.add_argument('--clock', choices=['wall', 'cpu'], default='wall', help='time iterations by the wall clock, or by CPU time (use with --threads 1)')
    p.add_argument('--threads', type=int, default=None, help="torch's threads in each measurement (default: torch's choice)")
    p.add_argument('--worker', nargs=6, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker: return worker(*a.worker[:2], *map(int, a.worker[2:5]), a.worker[5], a.plain)
    os.environ['BENCH_CLOCK'] = a.clock                         # read by the measurement processes
    if a.threads: os.environ['OMP_NUM_THREADS'] = str(a.threads)
    if not a.against_cyclegan and (bad := [m for m in a.models if m in _one_sided]): p.error(f'UPIT has no {", ".join(bad)}: use --against-cyclegan')
    from upit_ext.data.demo import make_demo_data
    from upit_ext.train.callbacks import bf16_supported
    sizes = [int(o.split('x')[0]) for o in a.settings] if a.against_cyclegan else a.sizes
    data = make_demo_data(Path(tempfile.mkdtemp())/'bench', n_train=32, n_test=1, size=max(sizes))
    peak32, peak16 = matmul_peak(torch.float32), matmul_peak(torch.bfloat16)
    dev = torch.cuda.get_device_name() if torch.cuda.is_available() else f'CPU ({os.cpu_count()} cores)'
    print(f'device: {dev}; torch {torch.__version__}; bf16 native: {bf16_supported()}')
    print(f'measured matmul peak: fp32 {peak32/1e9:.0f} GFLOP/s, bf16 {peak16/1e9:.0f} GFLOP/s')
    if a.against_cyclegan: return against_cyclegan(a.models, a.settings, a.iters or 3, a.repeats, data)
    print(f'{"model":9} {"size":>4} {"bs":>3} {"library":16} {"img/s":>7} {"s/iter":>7} {"GFLOP/iter":>10} {"% of peak":>9} {"peak RSS MB":>11} {"speed-up":>8}')
    libs = [('upit', False), ('upit_ext', False)] + [('upit_ext', True)] * a.plain
    for model in a.models:
        for size in a.sizes:
            for bs in a.bs:
                runs = {l: [] for l in libs}
                iters = a.iters if a.iters is not None else 6 if model == 'dualgan' else 3
                for _ in range(a.repeats):
                    for l in libs: runs[l].append(measure(l[0], model, size, bs, iters, data, l[1]))
                med = {l: sorted(v, key=lambda o: o['imgs_per_s'])[len(v)//2] for l,v in runs.items()}
                base = med[('upit', False)]['imgs_per_s']
                for (lib, plain), r in med.items():
                    peak = peak32 if lib == 'upit' or plain or not bf16_supported() else peak16
                    name = lib + (' (fp32)' if plain else ' (default)' if lib == 'upit_ext' else '')
                    print(f'{model:9} {size:4d} {bs:3d} {name:16} {r["imgs_per_s"]:7.3f} {r["s_per_iter"]:7.2f} {r["flops"]/1e9:10.0f} '
                          f'{100*r["flops"]/r["s_per_iter"]/peak:8.0f}% {r["peak_rss_mb"]:11.0f} {r["imgs_per_s"]/base:7.2f}x', flush=True)
                if model == 'dualgan':   # the fair comparison: time per generator step with its critic steps
                    base_g = med[('upit', False)]['s_per_gen_step']
                    for (lib, plain), r in med.items():
                        each = ', '.join(f"{o['imgs_per_s']:.3f}" for o in runs[(lib, plain)])
                        print(f'    {lib + (" (fp32)" if plain else ""):16} timed window: {r["gen_steps"]} generator and {r["disc_steps"]} critic steps, '
                              f'{r["s_per_gen_step"]:.2f} s per generator step (with its critic steps), {base_g/r["s_per_gen_step"]:.2f}x UPIT; '
                              f'img/s of each run: {each}', flush=True)

if __name__ == '__main__': main()
