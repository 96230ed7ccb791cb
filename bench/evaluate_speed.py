"""Images per second of FID/KID evaluation on a folder (`upit_ext.metrics.folder_features`: reading, decoding and batching the files,
and the extractor) against the extractor alone on the same batches already in memory, in the same run (not a unit test).

    python bench/evaluate_speed.py                 # 1000 images of 256x256, batch 32
    python bench/evaluate_speed.py --n 200 --bs 16

The two are timed in alternating rounds over parts of the folder (`--rounds`, default 4), so that a change in the machine's load hits both.

The extractor is torch-fidelity's FID Inception-v3 with random weights (the standard weights cannot be downloaded on the machines this
runs on; the network, its resize to 299x299 and its cost are the same). Evaluation is "dominated by the extractor" when the two rates
are close: the ratio printed is extractor-alone time / evaluation time (1.0: reading the files costs nothing extra)."""
import argparse, os, tempfile, time
from pathlib import Path
import numpy as np, torch
from PIL import Image

def random_inception():
    "torch-fidelity's FeatureExtractorInceptionV3 with random weights (its own initialisation), wrapped as upit_ext's extractor"
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    from upit_ext.metrics import InceptionFeatures
    real = torch.nn.Module.load_state_dict
    torch.nn.Module.load_state_dict = lambda self, *a, **k: None          # skip the weights file; keep everything else
    try:
        with tempfile.NamedTemporaryFile(suffix='.pth') as f:
            torch.save({}, f.name)
            net = FeatureExtractorInceptionV3('inception-v3-compat', ['2048'], feature_extractor_weights_path=f.name)
    finally: torch.nn.Module.load_state_dict = real
    return InceptionFeatures(net).eval()

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--n', type=int, default=1000); p.add_argument('--size', type=int, default=256); p.add_argument('--bs', type=int, default=32)
    p.add_argument('--rounds', type=int, default=4, help='alternate evaluate and extractor-alone this many times (machine load evens out)')
    a = p.parse_args()
    from upit_ext.metrics import folder_features, extract_features, _batches, _array
    from upit_ext.core import image_files
    d = Path(tempfile.mkdtemp())/'imgs'; d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(a.n): Image.fromarray(rng.integers(0, 256, (a.size, a.size, 3), dtype=np.uint8)).save(d/f'{i:05d}.jpg', quality=95)
    ext = random_inception()
    print(f'{a.n} JPEG images of {a.size}x{a.size}, batch {a.bs}; torch {torch.__version__}, {torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.2f}')
    files = list(image_files(d))
    # in `--rounds` alternating rounds (evaluate a part of the folder, then the extractor alone on the same part), so that both see the
    # same machine load; times are summed over the rounds
    parts = [files[i::a.rounds] for i in range(a.rounds)]
    t_eval = t_ext = 0.
    for k, part in enumerate(parts):
        sub = d.parent/f'part{k}'; sub.mkdir()
        for f in part: os.link(f, sub/f.name)
        t = time.perf_counter(); f1 = folder_features(sub, ext, bs=a.bs, progress=False); t_eval += time.perf_counter() - t
        names = sorted(part, key=lambda f: f.name)
        xs = [torch.from_numpy(np.stack([_array(names[i]) for i in b])).permute(0, 3, 1, 2) for b in _batches(names, [(a.size, a.size)]*len(names), a.bs)]
        t = time.perf_counter(); f2 = torch.cat([extract_features(ext, x) for x in xs]); t_ext += time.perf_counter() - t
        assert torch.allclose(f1, f2, atol=1e-4), 'folder features differ from the extractor on the same images'
    print(f'evaluate (files -> features): {a.n/t_eval:6.2f} images/s ({t_eval:.1f} s)')
    print(f'extractor alone (in memory):  {a.n/t_ext:6.2f} images/s ({t_ext:.1f} s)')
    print(f'extractor time / evaluate time: {t_ext/t_eval:.3f}; load average at the end {os.getloadavg()[0]:.2f}')

if __name__ == '__main__': main()
