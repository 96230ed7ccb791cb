"""No fastai or torch private attribute is replaced: the trainer's events, `after_fail_fit` and the networks' `forward` attribute do what
patches of `Learner._do_one_batch`, `Learner._with_events` and `Module._compiled_call_impl` did. A line of `upit_ext/` that still writes a
private attribute of fastai's or torch's objects must say why, in a comment that starts with `# private:`."""
import re, pickle
from pathlib import Path
import pytest, torch
from fastai.vision.all import Callback, first

ROOT = Path(__file__).resolve().parents[1]
# attributes of fastai's and torch's classes that were patched, or that a patch would most likely write
KNOWN = ['_do_one_batch', '_with_events', '_call_one', '_do_epoch', '_do_fit', '_do_grad_opt', '_backward', '_step', '_split',
         '_compiled_call_impl', '_call_impl', '_forward_hooks', '_forward_pre_hooks', '_backward_hooks', '_modules', '_parameters', '_buffers']
_assign = re.compile(r'^\s*([^=()#\'"]+?)\s*[-+*/|&]?=(?!=)')          # the targets of an assignment statement (no call on the left)
_target = re.compile(r'(?<![\w.])(\w+(?:\.\w+)*)\.(_[A-Za-z]\w*)\b')   # `obj.attr._private` among them
_names = '|'.join(KNOWN)
_other = re.compile(r'setattr\([^,]+,\s*[\'"](' + _names + r')[\'"]|(__dict__|vars\([^)]*\))\[[\'"](' + _names + r')[\'"]\]\s*=(?!=)')
ALLOWED_OWN = set()   # private attributes of our own classes that are written from outside their methods (none so far)

def private_writes(src:str):
    "`(line number, line)` of the lines of `src` that write a private attribute (of fastai's or torch's objects: one of `KNOWN` on any object, any other on an object that is not `self`/`cls`) without a `# private:` comment"
    out = []
    for i, line in enumerate(src.splitlines(), 1):
        if '# private:' in line: continue
        code = line.split('#', 1)[0]
        hit = bool(_other.search(code))
        for stmt in re.split(r';|:\s', code):   # statements, and the bodies of one-line `for`, `if`...
            m = _assign.match(stmt)
            if not m: continue
            for base, attr in _target.findall(m.group(1)):
                if attr in KNOWN or (base.split('.')[0] not in ('self', 'cls') and attr not in ALLOWED_OWN): hit = True
        if hit: out.append((i, line.strip()))
    return out

def test_the_check_finds_the_old_patches():
    old = ["        self.learn._do_one_batch = partial(self._autocast_batch, self.learn._do_one_batch)",
           "        for n in self.nets: n._compiled_call_impl = None   # back to the plain modules, which pickle",
           "        learn._with_events = _guarded",
           "            net._compiled_call_impl, self.wrapped[net] = _Route(net, ddp, call), prev",
           "        setattr(learn, '_do_one_batch', f)"]
    assert [n for n,_ in private_writes('\n'.join(old))] == [1, 2, 3, 4, 5]
    assert private_writes("        n._compiled_call_impl = None   # private: torch has no public way to undo `Module.compile`") == []
    assert private_writes("        self._scaled_step()\n        x = a._b == c\n        self.n_disc_steps += 1") == []

@pytest.mark.parametrize('fn', sorted(str(p.relative_to(ROOT)) for p in (ROOT/'upit_ext').rglob('*.py') if p.name != '_modidx.py'))
def test_no_private_attribute_written(fn):
    bad = private_writes((ROOT/fn).read_text())
    assert not bad, f"{fn} writes private attributes without a '# private:' comment saying why: {bad}"

def _tiny_learner(tmp_path, **kwargs):
    from upit_ext.data.demo import make_demo_data
    from upit_ext.data.unpaired import get_dls
    from upit_ext.models.cyclegan import CycleGAN
    from upit_ext.train.learners import cycle_learner
    p = make_demo_data(tmp_path/'demo', n_train=4, n_test=1, size=32)
    dls = get_dls(p/'trainA', p/'trainB', load_size=32, crop_size=32, bs=2, num_workers=0)
    return cycle_learner(dls, CycleGAN(3, 3, 4, gen_blocks=1), path=tmp_path, show_imgs=False, **kwargs)

@pytest.mark.parametrize('event', ['before_disc_step', 'before_disc_backward', 'before_disc_update', 'after_disc_step'])
def test_exception_in_disc_step_leaves_autocast_off(tmp_path, event):
    "An exception in the discriminator step (under the batch's autocast) ends `fit` with autocast off, and the next `fit` trains"
    seen = {}
    class Boom(Callback):
        order = 100
        def _boom(self):
            seen['autocast'] = torch.is_autocast_enabled('cpu')
            if self.train_iter == 1: raise RuntimeError('boom')
    setattr(Boom, event, Boom._boom)
    learn = _tiny_learner(tmp_path, mixed_precision='bf16')
    with learn.no_bar(), learn.no_logging():
        with pytest.raises(RuntimeError, match='boom'): learn.fit(1, cbs=Boom())
        assert seen['autocast'] is True         # the step ran under autocast...
        assert not torch.is_autocast_enabled('cpu')   # ...which the failure left
        learn.fit(1)
    assert not torch.is_autocast_enabled('cpu')
    assert len(learn.recorder.values) == 1
    pickle.dumps(first(learn.cbs, lambda o: type(o).__name__ == 'GANAutocast'))   # nothing of the batch left in the callback

def test_failed_fit_gives_back_plain_networks(tmp_path):
    "A `fit` that raises removes the compiled `forward`s (`GANCompile.after_fail_fit`); the learner exports"
    class Boom(Callback):
        def after_disc_step(self):
            if self.train_iter == 0: raise RuntimeError('boom')
    learn = _tiny_learner(tmp_path, mixed_precision=None, compile=dict(backend='eager'))
    with learn.no_bar(), learn.no_logging(), pytest.raises(RuntimeError, match='boom'): learn.fit(1, cbs=Boom())
    assert not any('forward' in vars(n) for n in learn.model.children())
    learn.export(tmp_path/'export.pkl')
