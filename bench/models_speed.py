"""Forward+backward time of the default generators, upit_ext against UPIT, in the same run (not a unit test).

Usage: python bench/models_speed.py [--size 256] [--bs 1] [--repeats 9] [--threads N] [--clock wall|cpu]

Each repeat times one forward+backward of UPIT's model, then of ours (the order alternates between repeats), on the
same input; the report gives the median seconds of each, the ratio of the medians UPIT/ours (above 1: ours is faster), and
the median of the ratios of each adjacent pair of runs, which is less sensitive to other work on the machine. On a busy
machine, `--threads 1 --clock cpu` (the CPU time of this process, one thread) compares the two with the least noise.
"""
import argparse, os, platform, statistics, time
import torch
from upit.models.cyclegan import resnet_generator as upit_resnet
from upit.models.ganilla import ganilla_generator as upit_ganilla
from upit_ext.models.layers import resnet_generator
from upit_ext.models.ganilla import ganilla_generator

clock = time.perf_counter

def fwd_bwd(model, x):
    "Seconds (of `clock`) for one forward and backward pass of `model` on `x`"
    model.zero_grad(set_to_none=True)
    start = clock()
    model(x).mean().backward()
    return clock() - start

def bench(pair, x, repeats):
    "Median seconds of UPIT and ours over `repeats` alternating runs (after one warm-up run each), and median paired ratio"
    for m in pair: fwd_bwd(m, x)
    times = ([], [])
    for r in range(repeats):
        for i in ((0, 1) if r % 2 == 0 else (1, 0)): times[i].append(fwd_bwd(pair[i], x))
    return statistics.median(times[0]), statistics.median(times[1]), statistics.median(u/o for u,o in zip(*times))

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--bs', type=int, default=1)
    p.add_argument('--repeats', type=int, default=9)
    p.add_argument('--threads', type=int, default=None, help='torch threads (default: torch\'s choice)')
    p.add_argument('--clock', choices=['wall', 'cpu'], default='wall', help='wall-clock time, or CPU time of this process')
    a = p.parse_args()
    global clock
    clock = time.perf_counter if a.clock == 'wall' else time.process_time
    if a.threads: torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.randn(a.bs, 3, a.size, a.size)
    models = {'ResNet-9 CycleGAN generator': (upit_resnet(3, 3, 64), resnet_generator(3, 3, 64)),
              'GANILLA generator':          (upit_ganilla(3, 3, 64, 0.), ganilla_generator(3, 3, 64))}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; input {tuple(x.shape)}, {a.repeats} repeats, {a.clock} time")
    print(f"| model | UPIT (s) | upit_ext (s) | UPIT / upit_ext (medians) | UPIT / upit_ext (paired) |\n|---|---|---|---|---|")
    for name, pair in models.items():
        tu, to, ratio = bench(pair, x, a.repeats)
        print(f"| {name} | {tu:.3f} | {to:.3f} | {tu/to:.2f} | {ratio:.2f} |")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")

if __name__ == '__main__': main()
