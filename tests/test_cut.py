"""CUT and FastCUT through the library: the projection head is checkpointed with its optimizer state, 1-channel domains and
non-square crops train, and the antialiased variant (the reference's default networks) trains and exports as TorchScript."""
import math, pytest, torch
from fastai.vision.all import set_seed
from upit_ext.core import InputError
from upit_ext.data.unpaired import get_dls
from upit_ext.data.paired import get_paired_dls
from upit_ext.models.cut import CUT, FastCUT
from upit_ext.train.terms import PatchNCE
from upit_ext.train.learners import cut_learner
from upit_ext.train.checkpoint import CheckpointCallback
from upit_ext.inference import export_generator, export_torchscript, load_torchscript, load_generator

def _fit(learn, n=1, cbs=None):
    with learn.no_bar(), learn.no_logging(): learn.fit(n, lr=1e-3, cbs=cbs)
    values = [v for row in learn.recorder.values for v in row if isinstance(v, float)]
    assert values and all(math.isfinite(v) for v in values)
    return learn

def _dls(demo_data, **kw):
    return get_dls(demo_data/'trainA', demo_data/'trainB', **{**dict(load_size=36, crop_size=32, bs=2, num_workers=0, seed=0), **kw})

def test_head_checkpointed_with_its_optimizer_state(demo_data, tmp_path):
    set_seed(0)
    m = CUT(n_features=4, nce_features=16)
    learn = _fit(cut_learner(_dls(demo_data), m, path=tmp_path), n=2, cbs=CheckpointCallback())
    ck = torch.load(tmp_path/'models'/'checkpoint.pth', weights_only=False)
    f_keys = [k for k in m.state_dict() if k.startswith('F.')]
    assert len(f_keys) == 4*len(m.nce_layers)                     # 2 linear layers (weight, bias) per NCE layer
    assert all(torch.equal(ck['model'][k], m.state_dict()[k]) for k in f_keys)
    n_f, n_all = len(list(m.F.parameters())), len(list(m.parameters()))
    assert [len(g['params']) for g in learn.opt.param_groups][-1] == n_f
    assert all(i in ck['opt']['state'] for i in range(n_all - n_f, n_all))   # the head's Adam moments are saved
    assert ck['config']['nce_layers'] == [0, 4, 8, 12, 16] and ck['config']['model'] == 'CUT'

def test_one_channel_domains(paired_data, tmp_path):
    "Grayscale A and B (the unpaired loaders read RGB, so the paired ones give the batches; CUT ignores the pairing)"
    set_seed(0)
    dls = get_paired_dls(paired_data/'trainA', paired_data/'trainB', load_size=36, crop_size=32, bs=2, num_workers=0, valid_pct=0,
                         mode_A='L', mode_B='L')
    m = FastCUT(1, 1, n_features=4, nce_features=16)
    _fit(cut_learner(dls, m, path=tmp_path))
    assert m.F.channels[0] == 1
    with pytest.raises(InputError, match='need the same number of channels'): FastCUT(1, 3)

def test_non_square_crops(demo_data, tmp_path):
    set_seed(0)
    m = CUT(n_features=4, nce_features=16)
    learn = _fit(cut_learner(_dls(demo_data, load_size=(36, 52), crop_size=(32, 48)), m, path=tmp_path))
    assert learn.fakes[0].shape[-2:] == (32, 48)
    with pytest.raises(InputError, match='crop_size=30x48 does not fit the model'):
        cut_learner(_dls(demo_data, load_size=(36, 52), crop_size=(30, 48)), m, path=tmp_path)

def test_antialiased_trains_and_exports_as_torchscript(demo_data, tmp_path):
    """`antialias=True` (the reference's default networks) trains, and exports as a generator file (from its build config) and as TorchScript"""
    set_seed(0)
    m = FastCUT(n_features=4, nce_features=16, antialias=True)
    learn = _fit(cut_learner(_dls(demo_data), m, path=tmp_path))
    g, x = load_generator(export_generator(learn, tmp_path/'G.pth')), torch.rand(1, 3, 32, 32)
    with torch.no_grad(): assert torch.equal(g(x), m.G.eval()(x))
    ts, info = load_torchscript(export_torchscript(learn, tmp_path/'G.pt'))
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad(): torch.testing.assert_close(ts(x), (m.G.eval()(x*2 - 1)*0.5 + 0.5).clamp(0, 1), atol=1e-5, rtol=0)

def test_patchnce_refuses_bad_settings(demo_data, tmp_path):
    with pytest.raises(InputError, match='lambda_NCE=-1 must be at least 0'): PatchNCE(lambda_NCE=-1)
    with pytest.raises(InputError, match='nce_T=0 must be positive'): CUT(n_features=4, nce_T=0)
    with pytest.raises(InputError, match='nce_features=0 must be at least 1'): CUT(n_features=4, nce_features=0)
