"The Hugging Face dataset loaders on small datasets built here (saved with `save_to_disk` and as Parquet), never touching the network."
import os
os.environ['HF_DATASETS_OFFLINE'] = os.environ['HF_HUB_OFFLINE'] = '1'   # before `datasets` is imported, if this module comes first
import sys, warnings
import numpy as np, pytest, torch
from PIL import Image
import datasets, huggingface_hub
from fastai.vision.all import set_seed
from conftest import run_cli
from upit_ext.core import InputError, image_files
from upit_ext.data.unpaired import get_dls, preprocess_modes
from upit_ext.data.paired import get_paired_dls, get_side_by_side_dls, make_paired_demo
from upit_ext.data.hub import get_dls_from_hf, get_paired_dls_from_hf, load_hf_dataset, HubImage
from upit_ext.cli import main

KW = dict(load_size=36, crop_size=32, num_workers=0)

@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    "No network, and a `datasets` cache of the test's own (the Parquet files are converted into it)"
    for k in ('HF_DATASETS_OFFLINE', 'HF_HUB_OFFLINE'): monkeypatch.setenv(k, '1')
    monkeypatch.setenv('HF_HOME', str(tmp_path/'hf_home'))
    monkeypatch.setattr(datasets.config, 'HF_HUB_OFFLINE', True)
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_OFFLINE', True)
    monkeypatch.setattr(datasets.config, 'HF_DATASETS_CACHE', tmp_path/'hf_cache')

def plain(x): return x.as_subclass(torch.Tensor)
def images(files): return [Image.open(f) for f in files]
def features(*cols): return datasets.Features({c: datasets.Image() for c in cols})
def padded(xs, n): return xs + [None] * (n - len(xs))

@pytest.fixture(scope='module')
def unpaired(tmp_path_factory, demo_data):
    "The demo data in the huggan layout: 6 images in imageA, 4 in imageB (2 empty cells), a test split; saved to disk and as Parquet"
    root = tmp_path_factory.mktemp('hub')
    A, B = image_files(demo_data/'trainA'), image_files(demo_data/'trainB')[:4]
    dd = datasets.DatasetDict(train=datasets.Dataset.from_dict({'imageA': images(A), 'imageB': padded(images(B), 6)}, features=features('imageA', 'imageB')),
                              test=datasets.Dataset.from_dict({'imageA': images(image_files(demo_data/'testA')), 'imageB': images(image_files(demo_data/'testB'))},
                                                              features=features('imageA', 'imageB')))
    dd.save_to_disk(root/'saved')
    (root/'parquet').mkdir()
    for k, d in dd.items(): d.to_parquet(root/'parquet'/f'{k}-00000-of-00001.parquet')
    return root

@pytest.fixture(scope='module')
def paired(tmp_path_factory):
    "The paired demo (gray inputs, colour targets) as input/target columns, and side by side with a validation split"
    root = tmp_path_factory.mktemp('hubp')
    demo, sbs = make_paired_demo(root/'demo', n_train=6, n_test=2, size=32), make_paired_demo(root/'sbs', n_train=6, n_test=2, size=32, side_by_side=True)
    datasets.Dataset.from_dict({'input': images(image_files(demo/'trainA')), 'target': images(image_files(demo/'trainB'))},
                               features=features('input', 'target')).to_parquet(root/'pairs.parquet')
    datasets.DatasetDict(train=datasets.Dataset.from_dict({'image': images(image_files(sbs/'train'))}, features=features('image')),
                         validation=datasets.Dataset.from_dict({'image': images(image_files(sbs/'val'))}, features=features('image'))).save_to_disk(root/'sbs_saved')
    return root, demo, sbs

def batches(dls, n=3):
    return [plain(t) for _ in range(n) for t in dls.train.one_batch()] + [plain(t) for b in dls.valid for t in b]

def test_unpaired_disk_and_parquet(unpaired):
    res = []
    for src in (unpaired/'saved', unpaired/'parquet'):
        set_seed(0)
        dls = get_dls_from_hf(src, bs=2, **KW)
        assert (len(dls.train_ds), len(dls.valid_ds)) == (6, 2)   # max(6, 4) items; the test split validates
        xa, xb = dls.one_batch()
        assert (type(xa).__name__, type(xb).__name__, xa.shape, xb.shape) == ('TensorImageA', 'TensorImageB', (2, 3, 32, 32), (2, 3, 32, 32))
        assert {o[0].row for o in dls.train_ds.items} == set(range(6))
        assert set(dls.train_ds.tls[1].tfms.fs[0].choices.attrgot('row')) == {0, 1, 2, 3}   # the empty cells of imageB are left out
        res.append(batches(dls))
    assert all(torch.equal(a, b) for a, b in zip(*res))
    one = get_dls_from_hf(unpaired/'parquet'/'train-00000-of-00001.parquet', bs=2, valid_pct=0.5, seed=0, **KW)   # no test split: valid_pct
    assert (len(one.train_ds), len(one.valid_ds)) == (3, 3)
    workers = get_dls_from_hf(unpaired/'saved', bs=2, **{**KW, 'num_workers': 2})   # worker processes open the dataset's images themselves
    assert [tuple(o.shape) for o in workers.one_batch()] == [(2, 3, 32, 32)] * 2

def test_unpaired_matches_the_folder_loader(unpaired, demo_data):
    "Same files, same seed: the same batches as `get_dls`"
    set_seed(1); hub = batches(get_dls_from_hf(unpaired/'saved', bs=2, valid_split=None, **KW))
    set_seed(1); folders = batches(get_dls(demo_data/'trainA', demo_data/'trainB', num_B=4, bs=2, **KW))
    assert len(hub) == len(folders) == 6 and all(torch.equal(a, b) for a, b in zip(hub, folders))
    assert len(get_dls_from_hf(unpaired/'saved', num_A=2, num_B=3, valid_split=None, **KW).train_ds) == 3

def test_paired_columns_and_side_by_side(paired):
    root, demo, sbs = paired
    hub = get_paired_dls_from_hf(root/'pairs.parquet', 'input', 'target', bs=2, seed=0, **KW)
    folders = get_paired_dls(demo/'trainA', demo/'trainB', bs=2, seed=0, **KW)
    assert (len(hub.train_ds), len(hub.valid_ds)) == (5, 1)
    for a, b in zip(hub.valid.one_batch(), folders.valid.one_batch()): assert torch.equal(plain(a), plain(b))
    xa, xb = hub.one_batch()
    assert torch.equal(plain(xa)[:, 0], plain(xa)[:, 1]) and not torch.equal(plain(xb)[:, 0], plain(xb)[:, 1])   # gray inputs, colour targets
    s = get_paired_dls_from_hf(root/'sbs_saved', side_by_side='image', bs=2, **KW)
    assert (len(s.train_ds), len(s.valid_ds)) == (6, 2)
    for a, b in zip(s.valid.one_batch(), get_side_by_side_dls(sbs, bs=2, **KW).valid.one_batch()): assert torch.equal(plain(a), plain(b))
    ra, rb = get_paired_dls_from_hf(root/'pairs.parquet', 'input', 'target', bs=2, seed=0, direction='BtoA', **KW).valid.one_batch()
    va, vb = hub.valid.one_batch()
    assert torch.equal(plain(ra), plain(vb)) and torch.equal(plain(rb), plain(va))
    ma, mb = get_paired_dls_from_hf(root/'pairs.parquet', 'input', 'target', bs=2, seed=0, mode_A='L', **KW).one_batch()
    assert (ma.shape[1], mb.shape[1]) == (1, 3)

def test_missing_column_names_the_columns(unpaired, paired):
    with pytest.raises(InputError, match=r"fieldB='zebras' is not a column of dataset '.*saved' \(split 'train'\): its columns are \['imageA', 'imageB'\]"):
        get_dls_from_hf(unpaired/'saved', fieldB='zebras', **KW)
    with pytest.raises(InputError, match=r"fieldA='imageA' is not a column .* its columns are \['input', 'target'\]"):
        get_paired_dls_from_hf(paired[0]/'pairs.parquet', **KW)
    with pytest.raises(InputError, match=r"side_by_side='pairs' is not a column .* its columns are \['image'\]"):
        get_paired_dls_from_hf(paired[0]/'sbs_saved', side_by_side='pairs', **KW)
    ints = datasets.Dataset.from_dict({'imageA': images(image_files(paired[1]/'trainA')), 'label': list(range(6))}, features=datasets.Features({'imageA': datasets.Image(), 'label': datasets.Value('int64')}))
    with pytest.raises(InputError, match=r"fieldB='label' of dataset 'in memory' holds Value\('int64'\), not images: its image columns are \['imageA'\]"):
        get_dls_from_hf(ints, fieldB='label', **KW)

def test_splits_are_named(unpaired):
    with pytest.raises(InputError, match=r"split='training' is not a split of dataset '.*': its splits are \['train', 'test'\]"):
        get_dls_from_hf(unpaired/'saved', split='training', **KW)
    with pytest.raises(InputError, match=r"valid_split='validation' is not a split"):
        get_dls_from_hf(unpaired/'saved', valid_split='validation', **KW)
    assert len(get_dls_from_hf(unpaired/'saved', split='test', valid_split=None, **KW).train_ds) == 2

def _with_corrupt_row(src, dest, column, row):
    d = datasets.load_from_disk(str(src))
    d = (d['train'] if isinstance(d, datasets.DatasetDict) else d).cast_column(column, datasets.Image(decode=False)).to_dict()
    d[column][row] = {'bytes': b'\x89PNG\r\n\x1a\n truncated', 'path': None}
    datasets.Dataset.from_dict(d, features=features(*d)).save_to_disk(dest)
    return dest

def test_corrupt_image_is_named(unpaired, paired, tmp_path):
    bad = _with_corrupt_row(unpaired/'saved', tmp_path/'bad', 'imageB', 1)
    with pytest.raises(InputError, match=r"fieldB='imageB' \(dataset '.*bad', split 'train'\): 1 row\(s\) do not hold a readable image: row 1 \(.*Error.*on_bad='skip'"):
        get_dls_from_hf(bad, **KW)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        dls = get_dls_from_hf(bad, **KW, on_bad='skip')
    assert any('skipped 1 unreadable image(s) of 4: row 1' in str(o.message) for o in w)
    assert sorted(dls.train_ds.tls[1].tfms.fs[0].choices.attrgot('row')) == [0, 2, 3]
    datasets.load_dataset('parquet', data_files=str(paired[0]/'pairs.parquet'))['train'].save_to_disk(tmp_path/'pairs')
    pbad = _with_corrupt_row(tmp_path/'pairs', tmp_path/'pbad', 'target', 4)
    with pytest.raises(InputError, match=r"fieldB='target' .*: 1 row\(s\) do not hold a readable image: row 4"):
        get_paired_dls_from_hf(pbad, 'input', 'target', **KW)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        p = get_paired_dls_from_hf(pbad, 'input', 'target', valid_pct=0, on_bad='skip', **KW)
    assert [o[0].row for o in p.train_ds.items] == [0, 1, 2, 3, 5]   # the row goes, input and target
    assert any("left out 1 image(s) whose partner is unreadable: rows 4" in str(o.message) for o in w)
    holes = datasets.load_from_disk(str(tmp_path/'pairs')).cast_column('target', datasets.Image(decode=False)).to_dict()
    holes['target'][2] = None
    holes = datasets.Dataset.from_dict(holes, features=features('input', 'target'))
    with pytest.raises(InputError, match=r"1 row\(s\) have an image in only one of the columns fieldA='input' and fieldB='target': rows 2; on_mismatch='skip'"):
        get_paired_dls_from_hf(holes, 'input', 'target', **KW)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter('always')
        assert len(get_paired_dls_from_hf(holes, 'input', 'target', valid_pct=0, on_mismatch='skip', **KW).train_ds) == 5

@pytest.mark.parametrize('mode', preprocess_modes)
def test_preprocess_modes_keep_pairs_aligned(mode):
    "Each mode on 1024x40, 40x1024 and 300x417 pairs whose target is the input's channels reversed"
    rng = np.random.default_rng(0)
    ims = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in [(1024, 40), (40, 1024), (300, 417)]]
    d = datasets.Dataset.from_dict({'a': ims, 'b': [Image.fromarray(np.asarray(o)[..., ::-1].copy()) for o in ims]}, features=features('a', 'b'))
    set_seed(0)
    dls = get_paired_dls_from_hf(d, 'a', 'b', load_size=64, crop_size=48, bs=1, num_workers=0, valid_pct=0, preprocess=mode, shuffle=False)
    shapes = set()
    for _ in range(6):
        xa, xb = dls.one_batch()
        assert torch.equal(plain(xb), plain(xa)[:, [2, 1, 0]])
        shapes.add(tuple(xa.shape[-2:]))
    assert shapes == ({(40, 1024)} if mode == 'none' else {(48, 64)} if mode == 'scale_width' else {(48, 48)})   # the first row, 1024x40
    if mode in ('none', 'scale_width'):
        with pytest.raises(InputError, match=f"bs=2: with preprocess='{mode}'.* the images of fieldA='a' come out in 3 sizes"):
            get_paired_dls_from_hf(d, 'a', 'b', bs=2, num_workers=0, valid_pct=0, preprocess=mode)
        dls = get_dls_from_hf(d, 'a', 'b', load_size=64, crop_size=48, bs=1, num_workers=0, preprocess=mode)
        assert {tuple(dls.train_ds[i][0].shape[-2:]) for i in range(3)} == ({(40, 1024), (1024, 40), (416, 300)} if mode == 'none' else {(48, 64), (1640, 64), (88, 64)})

def test_sources_and_hub_names(unpaired, tmp_path):
    assert list(load_hf_dataset(unpaired/'saved')) == ['train', 'test']
    assert load_hf_dataset(datasets.load_from_disk(str(unpaired/'saved'))['test'])['train'].num_rows == 2
    with pytest.raises(FileNotFoundError, match="dataset_name: '.*nope' does not exist"): get_dls_from_hf(tmp_path/'nope')
    with pytest.raises(InputError, match=r"dataset_name='upit-ext/not-a-dataset': cannot load it \(.*(Offline|offline)"):
        get_dls_from_hf('upit-ext/not-a-dataset')   # offline: a Hub name is looked up in the cache only, and fails at once

def test_without_the_datasets_library(unpaired, monkeypatch):
    monkeypatch.setitem(sys.modules, 'datasets', None)
    with pytest.raises(InputError, match='pip install datasets'): get_dls_from_hf(unpaired/'saved')

def test_cli_trains_on_a_local_dataset(unpaired, paired, tmp_path):
    tiny = ['--load-size', 32, '--crop-size', 32, '--epochs', 1, '--epochs-decay', 0, '--n-features', 4, '--num-workers', 0]
    r = run_cli('train', 'cyclegan', '--hf-dataset', unpaired/'parquet', '--gen-blocks', 1, '--bs', 2, *tiny, '--out', tmp_path/'cg')
    assert r.returncode == 0, r.stderr
    assert {'G_AtoB.pth', 'G_BtoA.pth', 'model', 'checkpoint.pth'} <= {f.name for f in (tmp_path/'cg').iterdir()}
    assert main(['train', 'pix2pix', '--hf-dataset', str(paired[0]/'sbs_saved'), '--side-by-side', 'image', '--n-downs', '5', '--preprocess', 'none',
                 *map(str, tiny), '--out', str(tmp_path/'p2p')]) == 0
    assert (tmp_path/'p2p'/'G.pth').exists()
    r = run_cli('train', 'cyclegan', '--hf-dataset', unpaired/'saved', '--fieldB', 'zebras', '--out', tmp_path/'x')
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and "--fieldB 'zebras' is not a column of dataset" in r.stderr and "['imageA', 'imageB']" in r.stderr, r.stderr
    r = run_cli('train', 'cyclegan', '--hf-dataset', unpaired/'saved', '--pathA', unpaired, '--out', tmp_path/'x')
    assert r.returncode == 2 and 'give either --hf-dataset or folders' in r.stderr, r.stderr
    r = run_cli('train', '--help')
    assert r.returncode == 0 and all(o in r.stdout for o in ('--hf-dataset', '--fieldA', '--side-by-side', '--preprocess', 'scale_width_and_crop'))
