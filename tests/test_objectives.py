"Every built-in GAN objective trains every model: CycleGAN, GANILLA and pix2pix, 2 epochs each, all losses finite, every network changed."
import math
import pytest, torch
from upit_ext.data.unpaired import get_dls
from upit_ext.data.paired import get_paired_dls, make_paired_demo
from upit_ext.models.registry import create_model
from upit_ext.train.learners import learner_for
from upit_ext.train.objectives import objectives

MODELS = {'cyclegan': dict(n_features=4, gen_blocks=1), 'ganilla': dict(n_features=4), 'pix2pix': dict(n_features=4, n_downs=5)}

@pytest.fixture(scope='module')
def paired_data(tmp_path_factory): return make_paired_demo(tmp_path_factory.mktemp('paired')/'p', n_train=4, n_test=1, size=32)

def _dls(name, demo_data, paired_data):
    args = dict(load_size=36, crop_size=32, bs=2, num_workers=0, seed=0)
    if name == 'pix2pix': return get_paired_dls(paired_data/'trainA', paired_data/'trainB', valid_pct=0.25, **args)
    return get_dls(demo_data/'trainA', demo_data/'trainB', **args)

@pytest.mark.parametrize('gan_mode', sorted(objectives))
@pytest.mark.parametrize('name', sorted(MODELS))
def test_objective_trains_model(name, gan_mode, demo_data, paired_data, tmp_path):
    torch.manual_seed(0)
    m = create_model(name, **MODELS[name])
    before = {k: {n: p.detach().clone() for n,p in net.named_parameters()} for k,net in m.networks().items()}
    learn = learner_for(m)(_dls(name, demo_data, paired_data), m, gan_mode=gan_mode, path=tmp_path, lr=1e-3)
    with learn.no_bar(), learn.no_logging(): learn.fit(2)
    names = learn.recorder.metric_names[1:-1]
    for row in learn.recorder.values:
        for n,v in zip(names, row):
            if v is not None and not isinstance(v, str): assert math.isfinite(v), f'{n} is {v}'
    assert learn.loss_func.objective.name == gan_mode
    if learn.loss_func.objective.penalized:   # the gradient penalty is recorded as a term of its own
        assert any(n.endswith('_penalty') for n in names), names
        assert all(math.isfinite(float(v)) for k,v in learn.loss_terms.items() if k.endswith('_penalty'))
    for k,net in m.networks().items():
        changed = [n for n,p in net.named_parameters() if not torch.equal(p.detach(), before[k][n])]
        assert changed, f'{gan_mode}: no weight of {k} changed'
