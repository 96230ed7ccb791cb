"Bad input to the data loaders and learners gets a clear error that names the argument or file."
import pytest
from PIL import Image
from upit_ext.core import InputError
from upit_ext.data.unpaired import get_dls
from upit_ext.models.cyclegan import CycleGAN
from upit_ext.train.learners import cycle_learner

def test_missing_folder(tmp_path, demo_data):
    with pytest.raises(FileNotFoundError, match=r"pathB: '.*nope' does not exist"): get_dls(demo_data/'trainA', tmp_path/'nope')

def test_empty_folder(tmp_path, demo_data):
    (tmp_path/'empty').mkdir()
    with pytest.raises(InputError, match=r"pathA: no image files in '.*empty' \(the folder is empty\)"): get_dls(tmp_path/'empty', demo_data/'trainB')

def test_folder_without_images(tmp_path, demo_data):
    (tmp_path/'docs').mkdir(); (tmp_path/'docs'/'readme.txt').write_text('x')
    with pytest.raises(InputError, match='none with an image extension'): get_dls(demo_data/'trainA', tmp_path/'docs')

def test_file_instead_of_folder(demo_data):
    with pytest.raises(InputError, match='is a file, expected a folder'): get_dls(demo_data/'trainA'/'0000.png', demo_data/'trainB')

def test_crop_larger_than_load(demo_data):
    with pytest.raises(InputError, match='crop_size=64 is larger than load_size=32'): get_dls(demo_data/'trainA', demo_data/'trainB', load_size=32, crop_size=64)

@pytest.mark.parametrize('crop,msg', [(30, 'got 30x30'), (20, 'at least 24, got 20x20')])
def test_size_the_model_cannot_take(demo_data, crop, msg):
    dls = get_dls(demo_data/'trainA', demo_data/'trainB', load_size=32, crop_size=crop, bs=2, num_workers=0)
    with pytest.raises(InputError, match=msg): cycle_learner(dls, CycleGAN(3, 3, 4, gen_blocks=1))

def test_corrupt_image_is_named(tmp_path, demo_data):
    (tmp_path/'A').mkdir()
    Image.open(demo_data/'trainA'/'0000.png').save(tmp_path/'A'/'good.png')
    (tmp_path/'A'/'broken.jpg').write_text('this is not a jpeg')
    with pytest.raises(InputError, match="cannot read image '.*broken.jpg'"):
        dls = get_dls(tmp_path/'A', demo_data/'trainB', load_size=32, crop_size=32, bs=1, num_workers=0)
        for _ in range(3): dls.train_ds[0]; dls.train_ds[1]

def test_identity_needs_same_channels(demo_data):
    "A 3-channel A and a 1-channel B cannot use the identity loss: the error says so and how to proceed"
    from fastai.vision.all import Transform, TensorImage
    from upit_ext.core import TensorImageB
    dls = get_dls(demo_data/'trainA', demo_data/'trainB', load_size=32, crop_size=32, bs=2, num_workers=0)
    class GrayB(Transform):
        order = 100
        def encodes(self, x:TensorImageB): return x[:, :1]
    dls.train.after_batch.add(GrayB())
    learn = cycle_learner(dls, CycleGAN(3, 1, 4, gen_blocks=1))
    with pytest.raises(InputError, match=r'same number of channels \(A has 3, B 1\): use lambda_idt=0'):
        with learn.no_bar(), learn.no_logging(): learn.fit(1)
    learn = cycle_learner(dls, CycleGAN(3, 1, 4, gen_blocks=1), lambda_idt=0)
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
