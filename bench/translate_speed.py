"""Folder translation speed and memory: upit_ext's `translate` against UPIT's `get_preds_cyclegan` (not a unit test).

Usage: python bench/translate_speed.py [--n-small 8] [--n-large 2] [--nf 64] [--blocks 9] [--workers 2] [--threads N]
                                       [--memory-sizes 1024x768,4000x3000] [--memory-nf 16] [--memory-blocks 3] [--skip-memory]
                                       [--skip-upit] [--skip-onnx]

Speed: the same ResNet generator weights (UPIT's `resnet_generator` and ours, loaded with the same state_dict), the same PNG
images (`--n-small` at 256x256 with batches of 4, UPIT's default, and `--n-large` at 1024x768 with batches of 1, since UPIT's
function keeps the autograd graph: some 3.5 GB per 1024x768 image), translated from a folder into PNG files on the CPU, in the
same run. Each side first translates one image of each size (warm-up), then the timed folder; the report gives images per second
and the ratio upit_ext / UPIT (above 1: upit_ext is faster), and checks that both wrote the same pixels (to within 1 of 255).

ONNX: the same generator exported with `export_onnx` and run by onnxruntime through `translate(src, 'gen.onnx', ...)`, against
`translate` with the PyTorch generator, on the same images and batches, in the same run (needs `pip install upit_ext[onnx]`). The
ONNX time includes opening the file in onnxruntime (reported apart too); the report gives images per second, the ratio ONNX / PyTorch
(above 1: ONNX is faster) and the largest difference between the two runtimes' 8-bit pixels.

Memory: the peak resident memory that translating one image adds to the process, untiled and in tiles of 512 pixels, for each
of `--memory-sizes`, each run in a fresh process (Linux `VmHWM`). It uses a smaller generator (`--memory-nf`, `--memory-blocks`)
to keep the run short: the untiled memory grows with the image and the generator's width; the tiled memory stays flat.
"""
import argparse, json, os, platform, subprocess, sys, tempfile, time
from pathlib import Path
from types import SimpleNamespace
import numpy as np, torch
from PIL import Image

def make_images(folder:Path, n:int, w:int, h:int, seed:int=0):
    "Write `n` demo landscapes of `w`x`h` as PNG into `folder`"
    from upit_ext.data.demo import landscape, landscape_layout
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        im = Image.fromarray(landscape(landscape_layout(rng), 256, 'day', rng=rng)).resize((w, h), Image.BICUBIC)
        im.save(folder/f'{i:03d}.png')
    return folder

def generators(nf:int, blocks:int):
    "Our ResNet generator and UPIT's, with the same weights"
    from upit.models.cyclegan import resnet_generator as upit_resnet
    from upit_ext.models.layers import resnet_generator
    torch.manual_seed(0)
    ours = resnet_generator(3, 3, nf, blocks)
    upit = upit_resnet(3, 3, nf, n_blocks=blocks)
    upit.load_state_dict(ours.state_dict())
    return ours, upit

def run_upit(gen, src:Path, dest:Path, bs:int, workers:int)->float:
    "Seconds for UPIT's `get_preds_cyclegan` to translate the folder `src` into `dest` (PNG)"
    from upit.inference.cyclegan import get_preds_cyclegan
    learn = SimpleNamespace(model=SimpleNamespace(G_B=gen))
    start = time.perf_counter()
    get_preds_cyclegan(learn, str(src), str(dest), convert_to='B', bs=bs, num_workers=workers, device='cpu', suffix='png')
    return time.perf_counter() - start

def run_ours(gen, src:Path, dest:Path, bs:int, workers:int, **kwargs)->float:
    "Seconds for upit_ext's `translate` to translate the folder `src` into `dest` (PNG)"
    from upit_ext.inference import translate
    start = time.perf_counter()
    translate(src, gen, dest, bs=bs, device='cpu', num_workers=workers, progress=False, **kwargs)
    return time.perf_counter() - start

def same_pixels(ours:Path, upit:Path)->int:
    "Largest pixel difference between the files of `ours` and UPIT's `*_fakeB.png` of the same images"
    return max(int(np.abs(np.asarray(Image.open(f)).astype(int) - np.asarray(Image.open(upit/f'{f.stem}_fakeB.png')).astype(int)).max())
               for f in sorted(ours.iterdir()))

def speed(a, root:Path)->list:
    ours, upit = generators(a.nf, a.blocks)
    rows = []
    for name, n, (w, h), bs in (('256x256', a.n_small, (256, 256), 4), ('1024x768', a.n_large, (1024, 768), 1)):
        if n == 0: continue
        src, warm = make_images(root/f'src_{name}', n, w, h), make_images(root/f'warm_{name}', 1, w, h, seed=1)
        run_upit(upit, warm, root/f'warm_upit_{name}', bs, a.workers); run_ours(ours, warm, root/f'warm_ours_{name}', bs, a.workers)
        tu = run_upit(upit, src, root/f'upit_{name}', bs, a.workers)
        to = run_ours(ours, src, root/f'ours_{name}', bs, a.workers)
        rows.append((name, n, bs, n/tu, n/to, tu/to, same_pixels(root/f'ours_{name}', root/f'upit_{name}')))
    return rows

def onnx_speed(a, root:Path)->tuple:
    "Rows `(images, n, bs, torch img/s, ONNX img/s, ratio, max pixel difference and share of differing values)`, and the seconds to export and to open the ONNX file"
    from upit_ext.inference import export_onnx, load_onnx
    ours, _ = generators(a.nf, a.blocks)
    start = time.perf_counter()
    f = export_onnx(ours, root/'gen.onnx')
    t_export = time.perf_counter() - start
    start = time.perf_counter(); load_onnx(f, 'cpu'); t_open = time.perf_counter() - start
    rows = []
    for name, n, (w, h), bs in (('256x256', a.n_small, (256, 256), 4), ('1024x768', a.n_large, (1024, 768), 1)):
        if n == 0: continue
        src, warm = make_images(root/f'src_{name}', n, w, h), make_images(root/f'warm_{name}', 1, w, h, seed=1)
        run_ours(ours, warm, root/f'warm_torch_{name}', bs, a.workers); run_ours(f, warm, root/f'warm_onnx_{name}', bs, a.workers)
        tt = run_ours(ours, src, root/f'torch_{name}', bs, a.workers)
        to = run_ours(f, src, root/f'onnx_{name}', bs, a.workers)
        d = np.concatenate([(np.asarray(Image.open(o)).astype(int) - np.asarray(Image.open(root/f'torch_{name}'/o.name)).astype(int)).ravel()
                            for o in sorted((root/f'onnx_{name}').iterdir())])
        rows.append((name, n, bs, n/tt, n/to, tt/to, f"{np.abs(d).max()} ({(d != 0).mean():.3%} of the values differ)"))
    return rows, t_export, t_open

def rss(key:str='VmRSS')->int:
    "Resident memory of this process in bytes: now (`VmRSS`) or at its peak (`VmHWM`; unlike `ru_maxrss`, not inherited from the parent)"
    return next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith(key + ':'))

def memory_child(a):
    "In a fresh process: the peak memory that translating one `a.size` image adds, tiled or not; printed as JSON"
    from upit_ext.inference import translate
    from upit_ext.models.layers import resnet_generator
    w, h = map(int, a.size.split('x'))
    torch.manual_seed(0)
    gen = resnet_generator(3, 3, a.memory_nf, a.memory_blocks).eval()
    im = Image.fromarray(np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8))
    translate(Image.new('RGB', (64, 64)), gen)   # load the kernels before measuring
    base = rss()
    start = time.perf_counter()
    out = translate(im, gen, tile=a.tile)
    secs = time.perf_counter() - start
    peak = rss('VmHWM')
    assert out.size == (w, h)
    print(json.dumps(dict(size=a.size, tile=a.tile, peak_mb=(peak - base) / 2**20, secs=secs)))

def memory(a)->list:
    rows = []
    for size in a.memory_sizes.split(','):
        for tile in (None, 512):
            cmd = [sys.executable, __file__, '--_memory-child', '--size', size, '--memory-nf', str(a.memory_nf), '--memory-blocks', str(a.memory_blocks)]
            if tile: cmd += ['--tile', str(tile)]
            if a.threads: cmd += ['--threads', str(a.threads)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode: raise RuntimeError(r.stderr)
            rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
    return rows

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n-small', type=int, default=8, help='images at 256x256 (default: 8)')
    p.add_argument('--n-large', type=int, default=2, help='images at 1024x768 (default: 2)')
    p.add_argument('--nf', type=int, default=64, help='generator features (default: 64)')
    p.add_argument('--blocks', type=int, default=9, help='generator residual blocks (default: 9)')
    p.add_argument('--workers', type=int, default=2, help='loading workers for both (UPIT: processes, upit_ext: threads; default: 2)')
    p.add_argument('--threads', type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument('--memory-sizes', default='1024x768,4000x3000', help='image sizes for the memory measurement (default: 1024x768,4000x3000)')
    p.add_argument('--memory-nf', type=int, default=16, help='generator features for the memory measurement (default: 16)')
    p.add_argument('--memory-blocks', type=int, default=3, help='generator residual blocks for the memory measurement (default: 3)')
    p.add_argument('--skip-memory', action='store_true')
    p.add_argument('--skip-upit', action='store_true', help='leave out the comparison with UPIT')
    p.add_argument('--skip-onnx', action='store_true', help='leave out the comparison with the ONNX file in onnxruntime')
    p.add_argument('--_memory-child', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--size', help=argparse.SUPPRESS)
    p.add_argument('--tile', type=int, default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    if a._memory_child: return memory_child(a)
    import warnings; warnings.simplefilter('ignore')
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}; ResNet generator nf={a.nf}, {a.blocks} blocks; command: python bench/translate_speed.py {' '.join(sys.argv[1:])}")
    start = time.perf_counter()
    if not a.skip_upit:
        with tempfile.TemporaryDirectory() as d:
            rows = speed(a, Path(d))
        print("\n| images | n | bs | UPIT get_preds_cyclegan (img/s) | upit_ext translate (img/s) | upit_ext / UPIT | max pixel difference |\n|---|---|---|---|---|---|---|")
        for name, n, bs, iu, io, ratio, diff in rows: print(f"| {name} | {n} | {bs} | {iu:.3f} | {io:.3f} | {ratio:.2f} | {diff} |")
    if not a.skip_onnx:
        import onnxruntime
        with tempfile.TemporaryDirectory() as d:
            rows, t_export, t_open = onnx_speed(a, Path(d))
        print(f"\nONNX (onnxruntime {onnxruntime.__version__}, CPU provider, its default threads): export {t_export:.1f} s, opening the file {t_open:.2f} s "
              f"(included in the ONNX times); load average {os.getloadavg()[0]:.2f}\n"
              "| images | n | bs | translate, PyTorch generator (img/s) | translate, ONNX file (img/s) | ONNX / PyTorch | max pixel difference (of 255) |\n|---|---|---|---|---|---|---|")
        for name, n, bs, it, io, ratio, diff in rows: print(f"| {name} | {n} | {bs} | {it:.3f} | {io:.3f} | {ratio:.2f} | {diff} |")
    if not a.skip_memory:
        print(f"\nPeak memory added by translating one image (ResNet generator nf={a.memory_nf}, {a.memory_blocks} blocks; tiles of 512 with 128 of overlap):\n"
              "| image | untiled (MB) | tiled (MB) | untiled (s) | tiled (s) |\n|---|---|---|---|---|")
        rs = memory(a)
        for size in a.memory_sizes.split(','):
            u, t = [r for r in rs if r['size'] == size]
            print(f"| {size} | {u['peak_mb']:.0f} | {t['peak_mb']:.0f} | {u['secs']:.1f} | {t['secs']:.1f} |")
    print(f"\ntotal {time.perf_counter() - start:.0f} s")

if __name__ == '__main__': main()
