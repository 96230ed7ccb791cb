"Checkpoints survive a SIGKILL in the middle of a write and a loss that turns NaN."
import hashlib, os, signal, subprocess, sys, time, textwrap
from pathlib import Path
import pytest, torch
from fastai.vision.all import Callback
from upit_ext.data.unpaired import get_dls
from upit_ext.models.cyclegan import CycleGAN
from upit_ext.train.learners import cycle_learner
from upit_ext.train.callbacks import NonFiniteLossError
from upit_ext.train.checkpoint import CheckpointCallback, load_checkpoint, save_checkpoint

def _learner(data, path, nf=4):
    dls = get_dls(data/'trainA', data/'trainB', load_size=32, crop_size=32, bs=2, num_workers=0)
    return cycle_learner(dls, CycleGAN(3, 3, nf, gen_blocks=1), path=path)

def _fit(learn, n, cbs=()):
    with learn.no_bar(), learn.no_logging(): learn.fit(n, cbs=list(cbs))

def _digest(fn): return hashlib.sha256(Path(fn).read_bytes()).hexdigest()

CHILD = textwrap.dedent("""
    import io, os, sys, time, torch
    from pathlib import Path
    from upit_ext.data.unpaired import get_dls
    from upit_ext.models.cyclegan import CycleGAN
    from upit_ext.train.learners import cycle_learner
    from upit_ext.train.checkpoint import save_checkpoint
    data, ck = Path(sys.argv[1]), Path(sys.argv[2])
    dls = get_dls(data/'trainA', data/'trainB', load_size=32, crop_size=32, bs=2, num_workers=0)
    learn = cycle_learner(dls, CycleGAN(3, 3, 8, gen_blocks=1), path=ck.parent)
    learn.create_opt(); learn.n_epoch, learn.train_iter = 1, 0
    real_save = torch.save
    def half_save(obj, f):
        "Write the first half of the checkpoint, tell the parent, and wait there to be killed in the middle of the write"
        buf = io.BytesIO(); real_save(obj, buf)
        f = open(f, 'wb') if isinstance(f, (str, os.PathLike)) else f
        f.write(buf.getvalue()[:len(buf.getvalue())//2]); f.flush()
        print('writing', flush=True); time.sleep(600)
    torch.save = half_save
    save_checkpoint(learn, ck, 3)
""")

def test_sigkill_while_writing_leaves_previous_checkpoint(tmp_path, demo_data):
    learn = _learner(demo_data, tmp_path)
    _fit(learn, 1, [CheckpointCallback()])
    ck = tmp_path/'models'/'checkpoint.pth'
    before = _digest(ck)
    child = subprocess.Popen([sys.executable, '-c', CHILD, str(demo_data), str(ck)], stdout=subprocess.PIPE, text=True)
    try: assert child.stdout.readline().strip() == 'writing', 'the child never started writing'   # it waits in the middle of the write
    finally: os.kill(child.pid, signal.SIGKILL); child.wait()
    assert child.returncode == -signal.SIGKILL
    tmps = list(ck.parent.glob('.checkpoint.pth.*.tmp'))
    assert len(tmps) == 1 and 0 < tmps[0].stat().st_size    # the kill left a half-written file under its temporary name...
    assert _digest(ck) == before                            # ...and did not touch the previous checkpoint...
    fresh = _learner(demo_data, tmp_path)
    assert load_checkpoint(fresh, ck)['epoch'] == 1         # ...which still loads

@pytest.mark.skipif(not Path('/proc/self/fd').exists(), reason='names open files through /proc')
def test_checkpoint_is_on_disk_before_it_is_renamed(tmp_path, demo_data, monkeypatch):
    learn = _learner(demo_data, tmp_path)
    learn.create_opt(); learn.n_epoch, learn.train_iter = 1, 0
    calls, fsync, replace = [], os.fsync, os.replace
    monkeypatch.setattr(os, 'fsync', lambda fd: (calls.append(('fsync', os.readlink(f'/proc/self/fd/{fd}'))), fsync(fd)))
    monkeypatch.setattr(os, 'replace', lambda a, b: (calls.append(('replace', str(a))), replace(a, b)))
    ck = tmp_path/'models'/'checkpoint.pth'
    save_checkpoint(learn, ck, 1)
    tmp = str(ck.with_name(f'.checkpoint.pth.{os.getpid()}.tmp'))
    assert calls == [('fsync', tmp), ('replace', tmp), ('fsync', str(ck.parent))]   # the file's data, then the rename
    assert load_checkpoint(_learner(demo_data, tmp_path), ck)['epoch'] == 1

def test_nan_stops_and_keeps_last_checkpoint(tmp_path, demo_data):
    learn = _learner(demo_data, tmp_path)
    class Poison(Callback):
        order = 100
        def after_loss(self):
            if self.epoch == 2 and self.iter == 1: self.learn.loss_terms['gen_loss_B'] = torch.tensor(float('inf'))
    with pytest.raises(NonFiniteLossError, match='loss term gen_loss_B is inf at epoch 2, iteration 1'):
        _fit(learn, 4, [CheckpointCallback(), Poison()])
    ck = tmp_path/'models'/'checkpoint.pth'
    state = load_checkpoint(_learner(demo_data, tmp_path), ck)
    assert state['epoch'] == 2 and all(torch.isfinite(v).all() for v in state['model'].values() if v.is_floating_point())

def test_checkpoint_every_n_epochs(tmp_path, demo_data):
    learn = _learner(demo_data, tmp_path)
    saved = []
    class Watch(Callback):
        order = CheckpointCallback.order + 1
        def after_epoch(self):
            ck = self.learn.path/'models'/'checkpoint.pth'
            saved.append(torch.load(ck, weights_only=False)['epoch'] if ck.exists() else None)
    _fit(learn, 5, [CheckpointCallback(every=2), Watch()])
    assert saved == [None, 2, 2, 4, 4]
    assert torch.load(tmp_path/'models'/'checkpoint.pth', weights_only=False)['epoch'] == 5   # and at the end
