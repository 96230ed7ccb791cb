"A long run: a few hundred iterations with checkpoints every few epochs; resident memory and open files must not grow (Linux /proc)"
import os, sys
import pytest, torch
from pathlib import Path
from fastai.vision.all import Callback, set_seed
from upit_ext.data.demo import make_demo_data
from upit_ext.data.unpaired import get_dls
from upit_ext.models.cyclegan import CycleGAN
from upit_ext.train.learners import cycle_learner
from upit_ext.train.checkpoint import CheckpointCallback

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path('/proc/self/status').exists(), reason='reads /proc')]

def rss_mb()->float:
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS:')) / 1024

def open_fds()->int: return len(os.listdir('/proc/self/fd'))

class Probe(Callback):
    "Resident memory and open file descriptors after every epoch"
    order = CheckpointCallback.order + 1
    def before_fit(self): self.rss, self.fds = [], []
    def after_epoch(self): self.rss.append(rss_mb()); self.fds.append(open_fds())

def test_soak_memory_and_files_do_not_grow(tmp_path):
    data = make_demo_data(tmp_path/'data', n_train=20, n_test=1, size=32)
    set_seed(0)
    dls = get_dls(data/'trainA', data/'trainB', load_size=36, crop_size=32, bs=2, num_workers=1, seed=0)   # a worker process every epoch
    probe, n_epochs = Probe(), 30
    learn = cycle_learner(dls, CycleGAN(3, 3, n_features=4, gen_blocks=1), pool_size=8, path=tmp_path, model_dir='.',
                          cbs=[CheckpointCallback(every=3), probe])
    with learn.no_bar(), learn.no_logging(): learn.fit(n_epochs)
    assert n_epochs * len(dls.train) >= 300
    assert (tmp_path/'checkpoint.pth').exists()
    warm = 5   # allocator pools, oneDNN primitive caches and the image pool fill during the first epochs
    growth = probe.rss[-1] - min(probe.rss[warm:])
    print(f'RSS per epoch (MB): {[round(r) for r in probe.rss]}; open fds: {probe.fds}')
    assert growth < 20, f'resident memory grew by {growth:.1f} MB over {n_epochs - warm} epochs: {probe.rss}'
    # a worker being shut down can hold a pipe for a moment: a leak is a count that stays up, not a blip
    assert probe.fds[-1] <= probe.fds[warm] and sorted(probe.fds[-10:])[5] <= probe.fds[warm], f'open file descriptors grew: {probe.fds}'
