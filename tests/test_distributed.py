"""Data-parallel training: 2 CPU processes (torchrun, gloo) keep every network identical and train like 1 process with twice the batch.

pytest runs the single-process references and launches this file with torchrun (and once with `accelerate launch`), which runs `main` in each process."""
import os, shutil, signal, socket, subprocess, sys, time
from pathlib import Path
import pytest, torch

TIMEOUT = 240        # seconds for the whole torchrun launch; the process group itself times out after 60 s
STEPS = 2            # epochs, of 2 iterations each

def _record_cb():
    from fastai.vision.all import Callback
    class Record(Callback):
        "Per training step: the learning rates and the loss averaged over the processes"
        order = 100
        def before_fit(self): self.lrs, self.losses = [], []
        def after_batch(self):
            if self.training: self.lrs.append([h['lr'] for h in self.opt.hypers]); self.losses.append(float(self.learn.to_detach(self.learn.loss)))
    return Record()

def _stop_cb(stop_after):
    from fastai.vision.all import Callback, CancelFitException
    class Stop(Callback):
        order = 100
        def after_epoch(self):
            if self.epoch + 1 == stop_after: raise CancelFitException
    return Stop()

def train(kind:str, data:Path, bs:int, seed:int=0, stop_after:int=None, resume=None, pool_size:int=0)->dict:
    "Train a tiny `kind` model for `STEPS` epochs (the order of the data from seed 0, the networks from `seed`) and return what to compare"
    from fastai.vision.all import set_seed, Resize
    from upit_ext.train.checkpoint import CheckpointCallback
    from upit_ext.data.unpaired import get_dls
    from upit_ext.data.paired import get_paired_dls
    from upit_ext.models.cyclegan import CycleGAN
    from upit_ext.models.pix2pix import Pix2Pix
    from upit_ext.train.learners import cycle_learner, pix2pix_learner
    import upit_ext.distributed
    fp32 = dict(mixed_precision=None, channels_last=False, per_epoch=False)
    set_seed(0, reproducible=True)
    if kind == 'cyclegan':
        dls = get_dls(data/'demo'/'trainA', data/'oneB', item_tfms=[Resize(32)], bs=bs, num_workers=0)
    else:
        dls = get_paired_dls(data/'paired'/'trainA', data/'paired'/'trainB', item_tfms=[Resize(32)], bs=bs, num_workers=0, mode_A='L', seed=0)
    set_seed(seed)
    if kind == 'cyclegan': m, mk = CycleGAN(3, 3, n_features=4, gen_blocks=1), cycle_learner
    else: m, mk = Pix2Pix(1, 3, n_features=4, n_downs=5, **(dict(norm='instance', dropout=0.) if kind == 'pix2pix_in' else {})), pix2pix_learner
    rec = _record_cb()
    learn = mk(dls, m, pool_size=pool_size, path=data, cbs=rec, **fp32)
    cbs = [] if stop_after is None and resume is None else [CheckpointCallback(), _stop_cb(stop_after)]
    with learn.distrib_ctx(timeout=60), learn.no_bar(), learn.no_logging(): learn.fit(STEPS, lr=2e-3, cbs=cbs, resume=resume)
    m.eval()
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3 if kind == 'cyclegan' else 1, 32, 32, generator=g)*2 - 1
    with torch.no_grad():
        if kind == 'cyclegan': outs = {n: getattr(m, n)(x) for n in ('G_A', 'G_B', 'D_A', 'D_B')}
        else: outs = {'G': m.G(x), 'D': m.D(torch.cat([x, m.G(x)], 1))}
    return dict(state={k: v.clone() for k,v in m.state_dict().items()}, outs=outs, values=learn.recorder.values,
                metrics=learn.recorder.metric_names[1:-1], lrs=rec.lrs, losses=rec.losses)

def train_registered(name:str, data:Path, bs:int, seed:int=0)->dict:
    "Train the tiny registered model `name` of the shared table (tests/_models.py) for `STEPS` epochs, through the model contract only"
    from fastai.vision.all import set_seed, Resize
    from upit_ext.data.unpaired import get_dls
    from upit_ext.data.paired import get_paired_dls
    from upit_ext.train.learners import learner_for
    from _models import MODELS, tiny_model
    import upit_ext.distributed
    set_seed(0, reproducible=True)
    if MODELS[name]['paired']: dls = get_paired_dls(data/'paired'/'trainA', data/'paired'/'trainB', item_tfms=[Resize(32)], bs=bs, num_workers=0, seed=0)
    else: dls = get_dls(data/'demo'/'trainA', data/'oneB', item_tfms=[Resize(32)], bs=bs, num_workers=0)
    set_seed(seed)
    m = tiny_model(name)
    learn = learner_for(m)(dls, m, path=data, mixed_precision=None, channels_last=False, per_epoch=False)
    with learn.distrib_ctx(timeout=60), learn.no_bar(), learn.no_logging(): learn.fit(STEPS, lr=2e-3)
    m.eval()
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))*2 - 1
    with torch.no_grad(): outs = {d: g(x) for d,g in m.generators().items()}
    return dict(state={k: v.clone() for k,v in m.state_dict().items()}, outs=outs, lrs=[], losses=[])

def different_splits(data:Path)->str:
    "Each process splits the paired data with its own seed: training must refuse to start, on every process"
    from fastai.vision.all import Resize
    from upit_ext.core import InputError
    from upit_ext.data.paired import get_paired_dls
    from upit_ext.models.pix2pix import Pix2Pix
    from upit_ext.train.learners import pix2pix_learner
    import upit_ext.distributed
    dls = get_paired_dls(data/'paired'/'trainA', data/'paired'/'trainB', item_tfms=[Resize(32)], bs=2, num_workers=0, mode_A='L',
                         seed=int(os.environ['RANK']))
    return fit_error(pix2pix_learner(dls, Pix2Pix(1, 3, n_features=4, n_downs=5), path=data, mixed_precision=None), InputError)

def fit_error(learn, exc)->str:
    "Train `learn` for 1 epoch in `distrib_ctx`: the message of the `exc` it raises, or 'trained'"
    try:
        with learn.distrib_ctx(timeout=60), learn.no_bar(), learn.no_logging(): learn.fit(1)
    except exc as e: return str(e)
    return 'trained'

def shards(data:Path)->dict:
    """The sums of the A and B images of each training batch, when every process set the same seed and B has 8 images to draw from;
    and how many calls of each network went through its `DistributedDataParallel` wrapper, and how many did not, in training"""
    from collections import Counter
    from fastai.vision.all import set_seed, Resize, Callback
    from upit_ext.data.unpaired import get_dls
    from upit_ext.models.cyclegan import CycleGAN
    from upit_ext.train.learners import cycle_learner
    import upit_ext.distributed as ud
    set_seed(0)
    dls = get_dls(data/'demo'/'trainA', data/'demo'/'trainB', item_tfms=[Resize(32)], bs=2, num_workers=0)
    calls, through_ddp, state = Counter(), Counter(), {'on': False}
    class Seen(Callback):
        def before_fit(self): self.sums = []
        def before_batch(self):
            state['on'] = self.training
            if self.training: self.sums.append([round(float(t.sum()), 3) for t in self.yb])   # (real_A, real_B)
        def after_batch(self): state['on'] = False
    seen, m = Seen(), CycleGAN(3, 3, n_features=4, gen_blocks=1)
    for name, net in m.named_children():       # every call of the network runs its forward hooks, wrapped or not
        net.register_forward_hook(lambda mod, i, o, name=name: calls.update([name] if state['on'] else []))
    forward = ud._Local.forward
    def counted(self, *args, **kwargs):
        if state['on']: through_ddp.update([next(n for n,c in m.named_children() if c is self.net)])
        return forward(self, *args, **kwargs)
    ud._Local.forward = counted
    learn = cycle_learner(dls, m, path=data, mixed_precision=None, cbs=seen)
    try:
        with learn.distrib_ctx(timeout=60), learn.no_bar(), learn.no_logging(): learn.fit(1)
    finally: ud._Local.forward = forward
    return dict(sums=seen.sums, calls=dict(calls), through_ddp=dict(through_ddp), n_iter=len(seen.sums),
                unwrapped=all('forward' not in vars(c) for c in m.children()))

def nan_in_one(data:Path)->str:
    "Process 1 gets a NaN loss term at iteration 1: every process must stop (none may wait forever for the other)"
    from fastai.vision.all import Resize, Callback
    from upit_ext.data.unpaired import get_dls
    from upit_ext.models.cyclegan import CycleGAN
    from upit_ext.train.callbacks import NonFiniteLossError
    from upit_ext.train.learners import cycle_learner
    import upit_ext.distributed
    class Poison(Callback):
        order = 100
        def after_loss(self):
            if self.iter == 1 and os.environ['RANK'] == '1': self.learn.loss_terms['cyc_loss_A'] = torch.tensor(float('inf'))
    dls = get_dls(data/'demo'/'trainA', data/'demo'/'trainB', item_tfms=[Resize(32)], bs=2, num_workers=0)
    return fit_error(cycle_learner(dls, CycleGAN(3, 3, n_features=4, gen_blocks=1), path=data, mixed_precision=None, cbs=Poison()), NonFiniteLossError)

def fp16_overflow_in_one(data:Path)->dict:
    "fp16 with loss scaling, where process 1's generator gradients overflow at iteration 1: every process must skip that step"
    from fastai.vision.all import Resize, Callback, set_seed, first
    from upit_ext.data.unpaired import get_dls
    from upit_ext.models.cyclegan import CycleGAN
    from upit_ext.train.callbacks import GANAutocast
    from upit_ext.train.learners import cycle_learner
    import upit_ext.distributed
    class Blowup(Callback):
        order = 100
        def after_loss(self):
            if self.training and self.iter == 1 and os.environ['RANK'] == '1': self.learn.loss_grad = self.learn.loss_grad * 1e30
    set_seed(0)
    dls = get_dls(data/'demo'/'trainA', data/'demo'/'trainB', item_tfms=[Resize(32)], bs=2, num_workers=0)
    learn = cycle_learner(dls, CycleGAN(3, 3, n_features=4, gen_blocks=1), path=data, mixed_precision='fp16', channels_last=False, cbs=Blowup())
    ac = first(learn.cbs, lambda o: isinstance(o, GANAutocast))
    ac.scaler = torch.amp.GradScaler('cpu', init_scale=1.)   # the default 2^16 overflows this tiny model's gradients in its first steps anyway
    with learn.distrib_ctx(timeout=60), learn.no_bar(), learn.no_logging(): learn.fit(1)
    return dict(state={k: v.clone() for k,v in learn.model.state_dict().items()}, scale=ac.scaler.get_scale())

def main(data:Path, out:Path):
    rank = int(os.environ['RANK'])
    res = {kind: train(kind, data, bs=2, seed=rank) for kind in ('cyclegan', 'pix2pix_in', 'pix2pix_bn')}
    res['cyclegan_pool'] = train('cyclegan', data, bs=2, seed=rank, pool_size=3)
    from _models import MODELS
    res.update({f'registered_{n}': train_registered(n, data, bs=2, seed=rank) for n in MODELS})
    res['different_splits'], res['shards'], res['nan'] = different_splits(data), shards(data), nan_in_one(data)
    res['fp16'] = fp16_overflow_in_one(data)
    train('cyclegan', data, bs=2, seed=rank, stop_after=1)           # process 0 writes the checkpoint after epoch 1 ...
    res['resumed'] = train('cyclegan', data, bs=2, seed=rank+10, resume=data/'models'/'checkpoint.pth')   # ... which both resume
    from upit_ext.inference import export_generator
    from upit_ext.models.cyclegan import CycleGAN
    res['exported'] = export_generator(CycleGAN(3, 3, n_features=4, gen_blocks=1), out/f'G_from_rank{rank}.pth').exists()
    torch.save(res, out/f'rank{rank}.pth')

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    from upit_ext.data.demo import make_demo_data
    from upit_ext.data.paired import make_paired_demo
    d = tmp_path_factory.mktemp('distrib')
    p = make_demo_data(d/'demo', n_train=8, n_test=1, size=32)
    (d/'oneB').mkdir(); shutil.copy(sorted((p/'trainB').iterdir())[0], d/'oneB')   # one B image: the random B partner is always it
    make_paired_demo(d/'paired', n_train=10, n_test=1, size=32)                      # 8 training pairs, 2 validation pairs
    return d

def _free_port()->int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _launch(cmd:list, what:str):
    "Run a launcher command (2 processes, gloo on 127.0.0.1) the way a user would, and fail with its log if it fails or hangs"
    lo = next((n for _,n in socket.if_nameindex() if n.startswith('lo')), None)    # gloo would use the host name's interface
    env = {**os.environ, 'CUDA_VISIBLE_DEVICES': '', 'OMP_NUM_THREADS': '1', 'WANDB_MODE': 'offline', **({'GLOO_SOCKET_IFNAME': lo} if lo else {})}
    t = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    try: log, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL); log, _ = proc.communicate()
        pytest.fail(f'{what} did not finish in {TIMEOUT} s:\n{log[-5000:]}')
    assert proc.returncode == 0, log[-5000:]
    print(f'{what}: {time.time()-t:.1f} s')

@pytest.fixture(scope='module')
def ranks(data):
    "Launch `main` in 2 processes with torchrun; return each process's results"
    out = data/'out'; out.mkdir()
    _launch([sys.executable, '-m', 'torch.distributed.run', '--nnodes=1', '--nproc_per_node=2', '--node_rank=0',
             '--master_addr=127.0.0.1', f'--master_port={_free_port()}', __file__, str(data), str(out)], 'torchrun')
    return [torch.load(out/f'rank{r}.pth', weights_only=False) for r in range(2)]

from _models import MODELS

@pytest.mark.parametrize('kind', ['cyclegan', 'cyclegan_pool', 'pix2pix_in', 'pix2pix_bn', *[f'registered_{n}' for n in MODELS]])
def test_networks_identical_across_processes(ranks, kind):
    "Every weight and buffer is bit-identical on both processes, although each one initialised its networks from another seed"
    r0, r1 = ranks[0][kind], ranks[1][kind]
    assert r0['state'].keys() == r1['state'].keys()
    for k, v in r0['state'].items(): assert torch.equal(v, r1['state'][k]), k
    for k, v in r0['outs'].items(): assert torch.equal(v, r1['outs'][k]), k
    assert r0['lrs'] == r1['lrs'] and r0['losses'] == r1['losses']

def cancelled_biases(m)->set:
    "Names of the biases of convolutions followed by an instance norm without affine parameters, which subtracts them again"
    from torch import nn
    out = set()
    for prefix, mod in m.named_modules():
        ch = list(mod.named_children())
        for (n, a), (_, b) in zip(ch, ch[1:]):
            if isinstance(a, (nn.Conv2d, nn.ConvTranspose2d)) and a.bias is not None and isinstance(b, nn.InstanceNorm2d) and not b.affine:
                out.add(f'{prefix}.{n}.bias'.lstrip('.'))
    return out

def _model(kind):
    from upit_ext.models.cyclegan import CycleGAN
    from upit_ext.models.pix2pix import Pix2Pix
    return CycleGAN(3, 3, n_features=4, gen_blocks=1) if kind == 'cyclegan' else Pix2Pix(1, 3, n_features=4, n_downs=5, norm='instance', dropout=0.)

@pytest.mark.parametrize('kind', ['cyclegan', 'pix2pix_in'])
def test_two_processes_train_like_one_with_twice_the_batch(ranks, data, kind):
    """2 processes with batch size 2 take the steps of 1 process with batch size 4, within float32 rounding.

    The processes compute the mean over 2 images and average those, one process the mean over 4: the sums are taken in another order,
    which changes the gradients in their last bits (relative 1e-7). The tolerances are set from what rounding alone does, measured by
    training the single-process reference with 1 and with 2 threads: weights 1.4e-7, outputs 1.9e-6 apart after these 4 steps; here we
    measure 2.3e-7 and 3.9e-6. A real error (a step without the average, a wrong shard) moves weights by about the learning rate, 2e-3.
    Compared: the learning rate of every step (exactly), the loss of every step and every recorded epoch value (relative 1e-4), the outputs
    of every network on fixed inputs (1e-4), and every weight (1e-5) except the biases of convolutions followed by an instance norm: it
    subtracts them, so their gradient is 0 up to rounding noise, which Adam normalises into steps of about the learning rate. They drift
    apart in any two runs that round differently (by 8e-3 here, and by 6e-3 between 1 and 2 threads) without changing any output."""
    one, two = train(kind, data, bs=4), ranks[0][kind]
    assert two['lrs'] == one['lrs'] and len(one['lrs']) == 2*STEPS
    assert two['metrics'] == one['metrics']
    loss_rel = max(abs(a-b)/abs(b) for a,b in zip(two['losses'], one['losses']))
    val_rel = max(abs(a-b)/abs(b) for ra,rb in zip(two['values'], one['values']) for a,b in zip(ra, rb) if b)
    out_abs = max((two['outs'][k] - v).abs().max().item() for k,v in one['outs'].items())
    skip = cancelled_biases(_model(kind))
    assert skip and skip < set(one['state'])
    w_abs = max((two['state'][k].float() - v.float()).abs().max().item() for k,v in one['state'].items() if k not in skip)
    print(f'{kind}: loss rel {loss_rel:.1e}, recorded values rel {val_rel:.1e}, outputs {out_abs:.1e}, weights {w_abs:.1e}')
    assert loss_rel < 1e-4 and val_rel < 1e-4
    assert out_abs < 1e-4
    assert w_abs < 1e-5

def test_each_process_sees_its_shard(ranks):
    "Same seed everywhere, yet the processes train on different A images (their shards) and draw B partners from different shards of B"
    s0, s1 = ranks[0]['shards']['sums'], ranks[1]['shards']['sums']
    assert len(s0) == len(s1) == 2
    assert not {a for a,_ in s0} & {a for a,_ in s1}     # the A images of the two shards
    assert not {b for _,b in s0} & {b for _,b in s1}     # the B images of the two shards

def test_calls_through_ddp_where_gradients_flow(ranks):
    """Per training iteration, each generator is called 3 times (translation, cycle, identity), all through its DDP wrapper; each
    discriminator once frozen in the generator step (directly) and twice (real, fake) in its own step, through its wrapper.
    Afterwards the networks are plain modules again."""
    for r in ranks:
        s, n = r['shards'], r['shards']['n_iter']
        assert s['calls'] == {'G_A': 3*n, 'G_B': 3*n, 'D_A': 3*n, 'D_B': 3*n}
        assert s['through_ddp'] == {'G_A': 3*n, 'G_B': 3*n, 'D_A': 2*n, 'D_B': 2*n}
        assert s['unwrapped']

def test_resume_from_process_0_checkpoint(ranks):
    "A run stopped after epoch 1 and resumed from process 0's checkpoint on both processes ends as the run that was never stopped"
    for r in ranks:
        for k, v in ranks[0]['cyclegan']['state'].items(): assert torch.allclose(r['resumed']['state'][k], v, rtol=0, atol=1e-6), k
    assert ranks[0]['resumed']['lrs'] == ranks[0]['cyclegan']['lrs'][-2:]      # it trained epoch 2 (2 iterations) only

def test_different_data_refused(ranks):
    "Processes that built different validation splits (each its own seed) are told so, all of them, instead of training on mixed data"
    for r in ranks: assert 'the processes built different datasets' in r['different_splits']

def test_non_finite_loss_stops_every_process(ranks):
    "A NaN or infinite loss in one process stops all of them at the same iteration, each naming what it knows"
    assert 'loss term cyc_loss_A is inf at epoch 0, iteration 1' in ranks[1]['nan']
    assert 'a loss term is not finite in another process at epoch 0, iteration 1' in ranks[0]['nan']

def test_fp16_overflow_in_one_process_skips_the_step_in_all(ranks):
    """The gradients are averaged before the loss scaler looks at them, so an overflow in process 1 alone makes both skip the generator
    step and halve the scale (from 1 to 0.5: at scale 1 no other step overflows), and the networks stay identical"""
    r0, r1 = ranks[0]['fp16'], ranks[1]['fp16']
    assert r0['scale'] == r1['scale'] == 0.5
    for k, v in r0['state'].items(): assert torch.equal(v, r1['state'][k]), k

def test_only_process_0_exports(ranks, data):
    "`export_generator` writes in process 0 only (as `Learner.export` does), so processes never race for one file"
    assert ranks[0]['exported'] and not ranks[1]['exported']
    assert not (data/'out'/'G_from_rank1.pth').exists()

def test_accelerate_launch(data, ranks):
    """The `accelerate launch` command of the docs (`--multi_gpu --num_processes 2`; on this GPU-less machine it falls back to gloo)
    starts the same data-parallel training as torchrun: 2 processes, identical networks, the same weights as the torchrun run.
    (`accelerate launch --cpu` starts one process only, whatever `--num_processes` says: that is a single-process run.)"""
    pytest.importorskip('accelerate')
    out = data/'out_accelerate'; out.mkdir()
    _launch([sys.executable, '-m', 'accelerate.commands.launch', '--multi_gpu', '--num_processes=2', '--num_machines=1',
             '--main_process_ip=127.0.0.1', f'--main_process_port={_free_port()}', '--mixed_precision=no', '--dynamo_backend=no',
             __file__, str(data), str(out), 'accelerate'], 'accelerate launch')
    r0, r1 = [torch.load(out/f'rank{r}.pth', weights_only=False) for r in range(2)]
    assert r0['world_size'] == r1['world_size'] == '2'
    for k, v in r0['state'].items():
        assert torch.equal(v, r1['state'][k]), k
        assert torch.equal(v, ranks[0]['cyclegan']['state'][k]), k

if __name__ == '__main__':
    if sys.argv[3:] == ['accelerate']:
        torch.save({**train('cyclegan', Path(sys.argv[1]), bs=2, seed=int(os.environ['RANK'])), 'world_size': os.environ['WORLD_SIZE']},
                   Path(sys.argv[2])/f"rank{os.environ['RANK']}.pth")
    else: main(Path(sys.argv[1]), Path(sys.argv[2]))
