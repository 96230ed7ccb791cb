"Everything a notebook needs: `from upit_ext.all import *` (fastai's vision API included, as with `fastai.vision.all`)."
from fastai.vision.all import *
from fastai.callback.wandb import WandbCallback
from .core import *
from .data.demo import *
from .data.unpaired import *
from .data.paired import *
from .models.layers import *
from .models.cyclegan import *
from .models.ganilla import *
from .models.pix2pix import *
from .models.registry import *
from .train.callbacks import *
from .train.learners import *
from .tracking import *
from .inference import *
from .distributed import *
