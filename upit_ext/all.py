"Everything a notebook needs: `from upit_ext.all import *` (fastai's vision API included, as with `fastai.vision.all`)."
from fastai.vision.all import *
from fastai.callback.wandb import WandbCallback
from .files import *
from .core import *
from .data.demo import *
from .data.unpaired import *
from .data.paired import *
from .data.hub import *
from .models.layers import *
from .models.base import *
from .models.cyclegan import *
from .models.ganilla import *
from .models.pix2pix import *
from .models.dualgan import *
from .models.cut import *
from .models.registry import *
from .train.objectives import *
from .train.callbacks import *
from .train.terms import *
from .train.checkpoint import *
from .train.learners import *
from .metrics import *
from .tracking import *
from .use.translator import *
from .use.load import *
from .use.export import *
from .use.translate import *
from .use.learner import *
from .sharing import *       # model cards and Hub folders; also what makes a model's save_pretrained write them
from .app import *           # the web app: Gradio is imported when it is built (pip install upit_ext[app])
from .distributed import *
from .compat.upit import *     # UPIT's names and call forms (its export_generator takes both forms): last, so these are the ones seen
