"""Every registered generator, built with other arguments than the defaults, comes back from each export format, a checkpoint and a Hub
folder with the same outputs, because every network records how it was built (`record_build`) and nothing is read from its layers."""
import inspect, warnings
import pytest, torch
from torch import nn
from upit_ext.models.base import record_build, build_config, rebuild
from upit_ext.models.layers import conv_block
from upit_ext.models.registry import list_models, model_defaults, create_model
from upit_ext.train.checkpoint import model_config
from upit_ext.use.load import load, load_translators, model_directions
from upit_ext.use.export import export_generator, export_torchscript, export_onnx
from upit_ext.sharing import save_for_hub

OTHER = dict(n_features=8, norm='batch', drop=0.3, gen_blocks=2, disc_layers=2, antialias=True, pad_mode='zeros', n_downs=5, init_type='kaiming')

def other_args(name:str)->dict:
    "Arguments of model `name` that differ from its defaults: another norm, dropout, fewer blocks and channels..."
    ds = model_defaults(name)
    kw = {k: v for k,v in OTHER.items() if k in ds and ds[k] != v}
    if 'nce_layers' in ds: kw['nce_layers'] = (0, 4, 8, 12)   # layers of the encoder of a generator with 2 residual blocks
    return kw

CASES = [(n, d) for n in list_models() for d in model_directions(create_model(n, **other_args(n)))]

def _formats(m, d, tmp):
    "`{format: source}` of the `d` generator of `m` in every format `load` reads"
    ck = tmp/'ck.pth'
    torch.save(dict(version=2, config=model_config(m), model_class=f'{type(m).__module__}:{type(m).__qualname__}', model=m.state_dict(), opt={},
                    stats=None), ck)
    res = dict(generator=export_generator(m, tmp/'g.pth', d), torchscript=export_torchscript(m, tmp/'g.pt', d), checkpoint=ck,
               hub=save_for_hub(m, tmp/'hub', n_samples=0))
    try:
        import onnxruntime, onnxscript
        res['onnx'] = export_onnx(m, tmp/'g.onnx', d)
    except ImportError: pass
    return res

@pytest.mark.parametrize('name,d', CASES, ids=[f'{n}-{d}' for n,d in CASES])
def test_round_trips(name, d, tmp_path):
    torch.manual_seed(0)
    kw = other_args(name)
    m = create_model(name, **kw).eval()
    ref = load(m, d)
    gen = m.generators()[d] if hasattr(m, 'generators') else m
    assert build_config(gen)['kwargs'] and rebuild(build_config(gen), device='meta') is not None
    x = torch.rand(2, ref.ch_in, 2*ref.size_multiple*max(2, -(-ref.min_size//ref.size_multiple)), 3*ref.size_multiple*max(2, -(-ref.min_size//ref.size_multiple)))
    with torch.no_grad(): y = ref(x)
    for fmt, src in _formats(m, d, tmp_path).items():
        tr = load(src, d)
        with torch.no_grad(): y2 = tr(x)
        if fmt in ('generator', 'checkpoint', 'hub'): assert torch.equal(y2, y), (fmt, (y2 - y).abs().max())
        else: torch.testing.assert_close(y2, y, atol=2e-4, rtol=0, msg=lambda m: f'{fmt}: {m}')   # compiled graphs round differently: far below 1/255

def test_other_arguments_are_recorded():
    g = create_model('cyclegan', **other_args('cyclegan')).G_B
    kw = build_config(g)['kwargs']
    assert (kw['norm'], kw['dropout'], kw['n_blocks'], kw['n_ftrs'], kw['pad_mode']) == ('batch', 0.3, 2, 8, 'zeros'), kw

@record_build
class TinyGenerator(nn.Sequential):
    "A generator defined outside the package: its module (this test file) is imported, so its files load"
    def __init__(self, ch_in:int=3, ch_out:int=3, width:int=4):
        super().__init__(*conv_block(ch_in, width, norm='none'), nn.Conv2d(width, ch_out, 1), nn.Tanh())

def test_outside_generator_exports_and_loads(tmp_path):
    torch.manual_seed(0)
    g = TinyGenerator(1, 3, width=6).eval()
    assert build_config(g) == {'builder': f'{__name__}:TinyGenerator', 'kwargs': {'ch_in': 1, 'ch_out': 3, 'width': 6}}
    x = torch.rand(1, 1, 10, 14)
    with torch.no_grad(): y = load(g)(x)
    for f in (export_generator(g, tmp_path/'tiny.pth'), export_torchscript(g, tmp_path/'tiny.pt')):
        with torch.no_grad(): torch.testing.assert_close(load(f)(x), y)
