"""Sharing on the Hub, without the network: the folder `save_for_hub` writes, its model card, the round trip through `load_pretrained`
for the registered models, refusals of damaged folders, and the errors of a Hub id that cannot be reached."""
import json, re, shutil
import pytest, torch
from torch import nn
import huggingface_hub
from huggingface_hub import ModelCard
from fastai.vision.all import set_seed
from _models import MODELS, tiny_dls, tiny_model
from upit_ext import __version__
from upit_ext.core import InputError, evaluating
from upit_ext.train.learners import learner_for
from upit_ext.train.checkpoint import run_config
from upit_ext.data.unpaired import domain_stats
from upit_ext.metrics import translation_metrics
from upit_ext.sharing import hub_info, load_pretrained, model_card, save_for_hub

FILES = ['README.md', 'config.json', 'model.safetensors', 'samples.png', 'upit_ext.json']

@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    "No network: huggingface_hub in offline mode, with a cache of the test's own"
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_OFFLINE', True)   # read when huggingface_hub is imported
    monkeypatch.setenv('HF_HOME', str(tmp_path/'hf_home'))
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_CACHE', str(tmp_path/'hf_home'/'hub'))

def trained(name, demo_data, paired_data, path, epochs=1, **kw):
    set_seed(0, reproducible=True)
    m = tiny_model(name)
    learn = learner_for(m)(tiny_dls(name, demo_data, paired_data, **kw), m, path=path)
    with learn.no_bar(), learn.no_logging(): learn.fit(epochs)
    return learn

def n_params(m): return sum(p.numel() for p in m.parameters())

def same_outputs(a, b, shape=(2, 3, 32, 32)):
    x = torch.rand(*shape) * 2 - 1
    with torch.no_grad(), evaluating(a), evaluating(b):
        ga, gb = a.generators(), b.generators()
        assert list(ga) == list(gb)
        for d in ga: assert torch.equal(ga[d](x), gb[d](x)), d

@pytest.mark.parametrize('name', list(MODELS))
def test_round_trip(name, demo_data, paired_data, tmp_path):
    "Every registered model: the folder's files, then the same model back (weights, outputs, class) with the same `hub_info`"
    learn = trained(name, demo_data, paired_data, tmp_path)
    out = save_for_hub(learn, tmp_path/'hub', repo_id=f'me/{name}')
    assert sorted(o.name for o in out.iterdir()) == FILES
    m = load_pretrained(out)
    assert type(m) is type(learn.model) and not m.training
    assert m.hub_info == hub_info(learn) == json.loads((out/'upit_ext.json').read_text())
    assert m.hub_info['stats'] == {k: [list(s) for s in v] for k,v in domain_stats(learn.dls).items()}
    assert m.hub_info['directions'] == list(learn.model.generators())
    sd, sd2 = learn.model.state_dict(), m.state_dict()
    assert sd.keys() == sd2.keys() and all(torch.equal(sd[k].cpu(), sd2[k]) for k in sd)
    same_outputs(learn.model, m)

@pytest.mark.parametrize('name', ['cyclegan', 'pix2pix', 'cut'])
def test_card(name, demo_data, paired_data, tmp_path):
    "The card: architecture and parameter counts, data, the recipe as `run_config` says, FID/KID given, version, usage with the repo id"
    learn = trained(name, demo_data, paired_data, tmp_path)
    metrics = {'fid_AtoB': 87.25, 'kid_AtoB': 0.0312, 'kid_AtoB_std': 0.004}
    save_for_hub(learn, tmp_path/'hub', metrics=metrics, repo_id='someone/tiny-model', license='apache-2.0')
    card, m, cfg = ModelCard.load(tmp_path/'hub'/'README.md'), learn.model, run_config(learn)
    text = card.text
    assert card.data.library_name == 'upit_ext' and card.data.license == 'apache-2.0'
    assert {'image-to-image', 'gan', type(m).__name__.lower()} <= set(card.data.tags)
    assert [(r.metric_type, r.metric_value) for r in card.data.eval_results] == [('fid', 87.25), ('kid', 0.0312)]
    assert card.data.model_name == 'someone/tiny-model'
    assert f'**{type(m).__name__}**' in text and f'{n_params(m):,} parameters in all' in text
    for n,o in m.networks().items(): assert re.search(rf"\| `{n}` \| [^|]+ \| {type(o).__name__} \| {n_params(o):,} \|", text), n
    gens = m.generators()
    assert f'{sum(n_params(g) for g in gens.values()):,} in the generators' in text
    assert ('A → B' in text) and (('B → A' in text) == ('BtoA' in gens))
    data = paired_data if MODELS[name]['paired'] else demo_data
    assert f"`{data/'trainA'}`" in text and f"`{data/'trainB'}`" in text
    assert f"{cfg['n_train']} training and {cfg['n_valid']} validation items" in text
    assert f"crop size {cfg['crop_size']}" in text and f"load size {cfg['load_size']}" in text
    for k in ('gan_mode', 'lr', 'pool_size', *[k for k in cfg if k.startswith('lambda')]): assert f"`{cfg[k]:.4g}`" in text if isinstance(cfg[k], float) else f"`{cfg[k]}`" in text, k
    assert '| FID | A → B | 87.25 |' in text and '| KID | A → B | 0.0312 | 0.004 |' in text
    assert __version__ in text and 'load_pretrained("someone/tiny-model")' in text
    assert 'upit_ext translate --model someone/tiny-model --input' in text
    assert '](samples.png)' in text

def test_card_from_recorder(demo_data, paired_data, tmp_path):
    "Without `metrics`, FID and KID come from the learner's recorder (its last epoch)"
    from test_metrics import Extractor
    set_seed(0, reproducible=True)
    m = tiny_model('cyclegan')
    learn = learner_for(m)(tiny_dls('cyclegan', demo_data, paired_data, valid_pct=0.34), m, path=tmp_path,
                           metrics=translation_metrics(m, extractor=Extractor(), subsets=2, subset_size=2))
    with learn.no_bar(), learn.no_logging(): learn.fit(2)
    rec = dict(zip(learn.recorder.metric_names[1:-1], learn.recorder.values[-1]))
    card = model_card(learn, repo_id='a/b')
    got = {(r.metric_type, r.metric_name): r.metric_value for r in card.data.eval_results}
    assert got == {('fid', 'FID A → B'): rec['valid_fid_AtoB'], ('fid', 'FID B → A'): rec['valid_fid_BtoA'],
                   ('kid', 'KID A → B'): rec['valid_kid_AtoB'], ('kid', 'KID B → A'): rec['valid_kid_BtoA']}
    assert '2 epoch(s) trained' in card.text
    assert model_card(learn, metrics={'fid': 3.5}).data.eval_results[0].metric_value == 3.5   # given metrics win

def test_normalized_stats(demo_data, paired_data, tmp_path):
    "Data normalized with its own statistics: `hub_info` keeps them, and a loaded model saved again keeps them too"
    learn = trained('cyclegan', demo_data, paired_data, tmp_path, normalize=True)
    stats = domain_stats(learn.dls)
    assert stats['A'] != ([0.5], [0.5])
    m = load_pretrained(save_for_hub(learn, tmp_path/'hub'))
    assert m.hub_info['stats'] == {k: [list(s) for s in v] for k,v in stats.items()}
    m.save_pretrained(tmp_path/'again')   # the mixin's save, with upit_ext's card and upit_ext.json
    assert load_pretrained(tmp_path/'again').hub_info['stats'] == m.hub_info['stats']

def test_model_alone(tmp_path):
    "A model without a learner: the mixin's `save_pretrained` writes our card and `upit_ext.json`; `save_for_hub` writes no samples"
    m = tiny_model('ganilla')
    m.save_pretrained(tmp_path/'mixin', model_card_kwargs=dict(repo_id='x/ganilla'))
    assert sorted(o.name for o in (tmp_path/'mixin').iterdir()) == ['README.md', 'config.json', 'model.safetensors', 'upit_ext.json']
    text = (tmp_path/'mixin'/'README.md').read_text()
    assert 'library_name: upit_ext' in text and 'upit_ext translate --model x/ganilla' in text and '## Training data' not in text
    same_outputs(m, load_pretrained(tmp_path/'mixin'))
    assert sorted(o.name for o in save_for_hub(m, tmp_path/'f').iterdir()) == FILES[:3] + FILES[4:]

def test_overwrite(demo_data, paired_data, tmp_path):
    learn = trained('cyclegan', demo_data, paired_data, tmp_path)
    (tmp_path/'full').mkdir(); (tmp_path/'full'/'notes.txt').write_text('mine')
    with pytest.raises(InputError, match=re.escape(f"folder: '{tmp_path/'full'}' exists and is not empty")): save_for_hub(learn, tmp_path/'full')
    assert [o.name for o in (tmp_path/'full').iterdir()] == ['notes.txt']
    (tmp_path/'empty').mkdir()
    save_for_hub(learn, tmp_path/'empty')   # an empty folder is fine
    save_for_hub(learn, tmp_path/'full', overwrite=True)
    assert sorted(o.name for o in (tmp_path/'full').iterdir()) == sorted(FILES + ['notes.txt'])
    (tmp_path/'file').write_text('x')
    with pytest.raises(InputError, match="folder: .* is a file"): save_for_hub(learn, tmp_path/'file')
    assert not [o for o in tmp_path.iterdir() if o.name.startswith('.')]   # no temporary folder left
    with pytest.raises(InputError, match='learn_or_model'): save_for_hub('model', tmp_path/'x')

def _edit_json(fn, **kw):
    d = json.loads(fn.read_text()); d.update(kw); fn.write_text(json.dumps(d))

def _truncate(fn): b = fn.read_bytes(); fn.write_bytes(b[:len(b)//2])

DAMAGES = {
    'no upit_ext.json': (lambda d: (d/'upit_ext.json').unlink(), "upit_ext.json' does not exist"),
    'upit_ext.json not JSON': (lambda d: (d/'upit_ext.json').write_text('{"model'), "upit_ext.json' is damaged"),
    'upit_ext.json a list': (lambda d: (d/'upit_ext.json').write_text('[]'), "upit_ext.json' is damaged"),
    'no model_class': (lambda d: (d/'upit_ext.json').write_text('{"directions": [], "stats": {}}'), "upit_ext.json' is damaged: it has no model_class"),
    'not a class path': (lambda d: _edit_json(d/'upit_ext.json', model_class='exec("1")'), "is not 'module:Class'"),
    'not a model class': (lambda d: _edit_json(d/'upit_ext.json', model_class='subprocess:Popen'), 'not a translation model'),
    'unknown module': (lambda d: _edit_json(d/'upit_ext.json', model_class='no_such_module_xyz:Model'), 'from a module that is not imported'),
    'other directions': (lambda d: _edit_json(d/'upit_ext.json', directions=['AtoB']), 'directions'),
    'no config.json': (lambda d: (d/'config.json').unlink(), "config.json' does not exist"),
    'config.json not JSON': (lambda d: (d/'config.json').write_text('nope'), "config.json' is damaged"),
    'other config': (lambda d: _edit_json(d/'config.json', n_features=8), "model.safetensors' is damaged or does not fit"),
    'no weights': (lambda d: (d/'model.safetensors').unlink(), "model.safetensors' does not exist"),
    'truncated weights': (lambda d: _truncate(d/'model.safetensors'), "model.safetensors' is damaged"),
}

@pytest.fixture(scope='module')
def good_folder(tmp_path_factory, demo_data, paired_data):
    d = tmp_path_factory.mktemp('good')
    return save_for_hub(trained('cyclegan', demo_data, paired_data, d), d/'hub')

@pytest.mark.parametrize('damage', list(DAMAGES))
def test_damaged(damage, good_folder, tmp_path):
    change, msg = DAMAGES[damage]
    d = tmp_path/'hub'; shutil.copytree(good_folder, d); change(d)
    with pytest.raises(InputError, match=re.escape(msg)): load_pretrained(d)

def test_not_a_model(tmp_path, good_folder):
    with pytest.raises(InputError, match="is a file"): load_pretrained(good_folder/'README.md')
    (tmp_path/'empty').mkdir()
    with pytest.raises(InputError, match=re.escape(f"'{tmp_path/'empty'/'upit_ext.json'}' does not exist")): load_pretrained(tmp_path/'empty')

@pytest.mark.parametrize('repo_id', ['nobody/no-such-upit-model', 'not a repo id'])
def test_offline_hub_id(repo_id, monkeypatch, tmp_path):
    "A repo id that is not a folder, with the Hub unreachable (offline mode): a clear error naming it and why"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=re.escape(f"model: '{repo_id}' is not a local file or folder, and the Hub cannot provide it: ")) as e: load_pretrained(repo_id)
    if '/' in repo_id: assert 'offline' in str(e.value).lower()

def test_push_reaches_the_hub(demo_data, paired_data, tmp_path):
    "`learn.push_to_hub` builds the folder and stops at the first network call (offline mode here): it cannot be tested further without the Hub"
    learn = trained('cyclegan', demo_data, paired_data, tmp_path)
    with pytest.raises(huggingface_hub.errors.OfflineModeIsEnabled): learn.push_to_hub('nobody/tiny', token='hf_not_a_real_token')
    with pytest.raises(InputError, match='folder'): learn.save_pretrained(tmp_path/'hub') and learn.save_pretrained(tmp_path/'hub')

def test_card_hub_dataset(demo_data, tmp_path, monkeypatch):
    "A run on a Hugging Face dataset: the card lists the columns and splits it read, and names the Hub dataset given as `dataset`"
    import datasets
    from PIL import Image
    from upit_ext.core import image_files
    from upit_ext.data.hub import get_dls_from_hf
    monkeypatch.setenv('HF_DATASETS_OFFLINE', '1'); monkeypatch.setattr(datasets.config, 'HF_HUB_OFFLINE', True)
    ims = lambda d: [Image.open(f) for f in image_files(demo_data/d)]
    feats = datasets.Features({c: datasets.Image() for c in ('imageA', 'imageB')})
    datasets.DatasetDict(train=datasets.Dataset.from_dict({'imageA': ims('trainA'), 'imageB': ims('trainB')}, features=feats)).save_to_disk(tmp_path/'ds')
    dls = get_dls_from_hf(tmp_path/'ds', load_size=36, crop_size=32, bs=2, num_workers=0, valid_pct=0.34, seed=0)
    m = tiny_model('cyclegan')
    learn = learner_for(m)(dls, m, path=tmp_path)
    card = model_card(learn, dataset='huggan/day2night', repo_id='me/d2n')
    assert card.data.datasets == ['huggan/day2night']
    assert '[huggan/day2night](https://huggingface.co/datasets/huggan/day2night)' in card.text
    assert "| train | A | 4 | imageA (split 'train') |" in card.text and "| valid | B | 2 | imageB (split 'train') |" in card.text

def test_notebook_class_keeps_weights_but_is_not_shareable(tmp_path):
    "A class no import can find: its save_pretrained keeps the weights (with a warning), and save_for_hub refuses it, saying why"
    from upit_ext.models.cyclegan import CycleGAN
    from upit_ext.sharing import save_for_hub
    Nb = type('Nb', (CycleGAN,), {'__module__': '__main__'})
    with pytest.warns(UserWarning, match='load_pretrained cannot read'): Nb(3, 3, n_features=4, gen_blocks=1).save_pretrained(tmp_path/'a')
    assert sorted(o.name for o in (tmp_path/'a').iterdir()) == ['README.md', 'config.json', 'model.safetensors']
    with pytest.raises(InputError, match='Nb is defined in a script or notebook'): save_for_hub(Nb(3, 3, n_features=4, gen_blocks=1), tmp_path/'b')
    assert not (tmp_path/'b').exists()
