"Every built-in GAN objective trains every registered model of the shared table: 2 epochs each, all losses finite, every network changed."
import math
import pytest, torch
from _models import MODELS, tiny_dls, tiny_model
from upit_ext.train.learners import learner_for
from upit_ext.train.objectives import objectives

def _cells()->list:
    """Every (model, objective). A diagonal that gives each model and each objective at least once is unmarked; the rest are marked
    `matrix`: the reruns against other fastai versions (tools/test_newest.sh, tools/test_min.sh) leave them out, as they test how
    models and objectives compose, which does not depend on fastai"""
    ms, os_ = sorted(MODELS), sorted(objectives)
    diag = {(ms[k % len(ms)], os_[k % len(os_)]) for k in range(max(len(ms), len(os_)))}
    return [pytest.param(m, o, marks=() if (m, o) in diag else pytest.mark.matrix) for m in ms for o in os_]

@pytest.mark.parametrize('name,gan_mode', _cells())
def test_objective_trains_model(name, gan_mode, demo_data, paired_data, tmp_path):
    torch.manual_seed(0)
    m = tiny_model(name)
    before = {k: {n: p.detach().clone() for n,p in net.named_parameters()} for k,net in m.networks().items()}
    learn = learner_for(m)(tiny_dls(name, demo_data, paired_data), m, gan_mode=gan_mode, path=tmp_path, lr=1e-3)
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
