"The model contract: extra trainable modules are optimized and checkpointed, undeclared parameters are refused, and callers' models are left alone."
import numpy as np, pytest, torch, torch.nn as nn, torch.nn.functional as F
from fastai.vision.all import CancelFitException, Callback, set_seed
from upit_ext.core import InputError
from upit_ext.data.unpaired import get_dls
from upit_ext.models.cyclegan import CycleGAN
from upit_ext.train.callbacks import LossTermCallback
from upit_ext.train.checkpoint import CheckpointCallback
from upit_ext.train.learners import cycle_learner
from upit_ext.inference import translate

class WithHead(CycleGAN):
    "A CycleGAN with an extra trainable module: a 1x1 projection of the A-to-B translation"
    def __init__(self, declare=True, **kwargs):
        super().__init__(3, 3, 4, gen_blocks=1, **kwargs)
        self.head, self.declare = nn.Conv2d(3, 2, 1), declare
    def extra_modules(self): return {'head': self.head} if self.declare else {}

class HeadLoss(LossTermCallback):
    "A loss term that needs the head: its output on the translation should be small"
    names = ['head_loss']
    def after_loss(self): self.add_terms(head_loss=self.model.head(self.model.translations(self.pred)['AtoB']).pow(2).mean())

def _learner(data, path, **kw):
    dls = get_dls(data/'trainA', data/'trainB', load_size=32, crop_size=32, bs=2, num_workers=0, seed=0)
    return cycle_learner(dls, WithHead(**kw), path=path, cbs=HeadLoss(), pool_size=3)

def _fit(learn, n=4, stop_after=None, resume=None):
    class Stop(Callback):
        order = CheckpointCallback.order + 1
        def after_epoch(self):
            if self.epoch + 1 == stop_after: raise CancelFitException
    with learn.no_bar(), learn.no_logging(): learn.fit(n, lr=2e-3, cbs=[CheckpointCallback(), Stop()], resume=resume)
    return learn

def test_extra_module_is_optimized_in_its_own_group(demo_data, tmp_path):
    set_seed(0)
    learn = _learner(demo_data, tmp_path)
    before = learn.model.head.weight.detach().clone()
    _fit(learn, 2)
    assert len(learn.opt.param_groups) == 3 and list(learn.model.param_groups()) == ['G', 'D', 'head']
    assert not torch.equal(learn.model.head.weight, before)
    assert 'head_loss' in learn.recorder.metric_names
    assert all(id(p) in {id(q) for q in learn.opt.param_groups[2]['params']} for p in learn.model.head.parameters())

def test_extra_module_checkpointed_and_resumed_exactly(demo_data, tmp_path):
    set_seed(42, reproducible=True); full = _fit(_learner(demo_data, tmp_path/'full'))
    set_seed(42, reproducible=True); _fit(_learner(demo_data, tmp_path/'half'), stop_after=2)
    ck = torch.load(tmp_path/'half'/'models'/'checkpoint.pth', weights_only=False)
    assert 'head.weight' in ck['model']
    head_ids = [i for i,_ in enumerate(full.model.parameters())][-2:]
    assert all(i in ck['opt']['state'] for i in head_ids)   # the head's Adam state is saved too
    set_seed(42, reproducible=True); resumed = _fit(_learner(demo_data, tmp_path/'half'), resume=tmp_path/'half'/'models'/'checkpoint.pth')
    for k,v in full.model.state_dict().items(): torch.testing.assert_close(resumed.model.state_dict()[k], v, atol=1e-6, rtol=0)

def test_undeclared_parameters_refused(demo_data, tmp_path):
    with pytest.raises(InputError, match=r"parameters \['head.weight', 'head.bias'\] belong to no generator"): _learner(demo_data, tmp_path, declare=False)

def test_translate_on_another_device_leaves_the_generator(demo_data, monkeypatch):
    "translate(device=X) runs a copy: the caller's generator is never moved (checked by watching every `_apply` on it)"
    g = CycleGAN(3, 3, 4, gen_blocks=1).G_B
    applied, real = [], nn.Module._apply
    def spy(self, fn, *a, **k): applied.append(self); return real(self, fn, *a, **k)
    monkeypatch.setattr(nn.Module, '_apply', spy)
    out = translate(demo_data/'testA', g, device='cpu:0', progress=False)
    assert len(out) == 2 and applied and not any(o is g for o in applied)
    same = translate(demo_data/'testA', g, progress=False)    # on the generator's own device: the same translations
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a,b in zip(out, same))
