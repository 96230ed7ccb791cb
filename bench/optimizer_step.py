"""Time one Adam step over every parameter of a CycleGAN and a GANILLA (4 networks each) with torch's three implementations.

    python bench/optimizer_step.py [--reps 20]
"""
import argparse, time, torch
from upit_ext.models.cyclegan import CycleGAN
from upit_ext.models.ganilla import GANILLA

def step_ms(params, reps, **kwargs):
    "Median milliseconds of one `Adam(params, **kwargs).step()` after a warm-up step"
    opt = torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999), **kwargs)
    opt.step()
    times = []
    for _ in range(reps):
        t = time.perf_counter(); opt.step(); times.append(time.perf_counter() - t)
    return sorted(times)[reps//2] * 1000

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--reps', type=int, default=20)
    reps = ap.parse_args().reps
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    for model in (CycleGAN, GANILLA):
        params = list(model(3, 3, 64).parameters())
        for p in params: p.grad = torch.randn_like(p)
        times = {name: step_ms(params, reps, **kw) for name, kw in [('loop', dict(foreach=False)), ('foreach', dict(foreach=True)), ('fused', dict(fused=True))]}
        print(f'{model.__name__:9} {sum(p.numel() for p in params)/1e6:5.1f}M params: ' + ', '.join(f'{k} {v:.1f} ms' for k, v in times.items()))

if __name__ == '__main__': main()
