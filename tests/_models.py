"""The registered models every shared test runs on, with tiny settings: a new model gets the shared tests by adding a row here.

`kwargs`: `create_model` arguments for a tiny network; `paired`: the data it learns from; `cli`: extra `upit_ext train` options."""
MODELS = {
    'cyclegan': dict(kwargs=dict(n_features=4, gen_blocks=1), paired=False, cli=['--gen-blocks', 1]),
    'ganilla':  dict(kwargs=dict(n_features=4), paired=False, cli=[]),
    'pix2pix':  dict(kwargs=dict(n_features=4, n_downs=5), paired=True, cli=['--n-downs', 5]),
    'dualgan':  dict(kwargs=dict(n_features=4, n_downs=5), paired=False, cli=['--n-downs', 5]),   # 5 levels: 32x32 crops
    'cut':      dict(kwargs=dict(n_features=4, nce_features=16), paired=False, cli=[]),
    'fastcut':  dict(kwargs=dict(n_features=4, nce_features=16), paired=False, cli=[]),
}

def tiny_dls(name, demo_data, paired_data, **kw):
    "DataLoaders of 32x32 crops, batch 2, for model `name`: the unpaired demo data, or the paired one with a quarter held out"
    from upit_ext.data.unpaired import get_dls
    from upit_ext.data.paired import get_paired_dls
    args = dict(load_size=36, crop_size=32, bs=2, num_workers=0, seed=0, **kw)
    if MODELS[name]['paired']: return get_paired_dls(paired_data/'trainA', paired_data/'trainB', valid_pct=0.25, **args)
    return get_dls(demo_data/'trainA', demo_data/'trainB', **args)

def tiny_model(name):
    from upit_ext.models.registry import create_model
    return create_model(name, **MODELS[name]['kwargs'])
