"""The library's modules import each other without cycles (function-level imports included), in the order of the layers below, and never
another module's `_private` names.

The layers, lowest first (a module imports only modules of its own layer or a lower one):

 0 files                     errors, image files, never-overwriting writes (no torch, no fastai)
 1 core                      fastai's and UPIT's image types, beside `files`
 2 data                      DataLoaders from folders and Hub datasets, the demo data
 3 models                    networks, build configs, the model contract, the registry (never the trainer)
 4 train, metrics            objectives, the trainer and its callbacks, loss terms, learners, checkpoints; FID/KID
 5 distributed               data-parallel training
 6 use                       translator, load, export, translate: a trained model to outputs (translator, load and translate import no fastai)
 7 show                      pictures of a run
 8 tracking                  wandb only
 9 sharing                   model cards and Hub folders
10 app                       the Gradio page
11 compat                    UPIT's names and call forms
12 commands                  what the subcommands run
13 cli, __main__             the console script (`--help` imports neither torch nor fastai)
14 inference, all            the old import path of the use layer; everything for a notebook
"""
import ast, json, os, subprocess, sys
import pytest
from pathlib import Path
import upit_ext

PKG = Path(upit_ext.__file__).parent

def _module(path:Path)->str:
    parts = list(path.relative_to(PKG.parent).with_suffix('').parts)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)

def _resolve(mod:str, is_pkg:bool, node:ast.ImportFrom)->list:
    "The upit_ext modules an `import from` statement in `mod` brings in (a package's submodules named in it included)"
    if node.level:
        base = mod.split('.') if is_pkg else mod.split('.')[:-1]
        base = base[:len(base) - (node.level - 1)]
        target = '.'.join(base + ([node.module] if node.module else []))
    else: target = node.module or ''
    if not target.startswith('upit_ext'): return []
    out = [target]
    for a in node.names:
        sub = f'{target}.{a.name}'
        if (PKG.parent/sub.replace('.', '/')).with_suffix('.py').exists() or (PKG.parent/sub.replace('.', '/')/'__init__.py').exists(): out.append(sub)
    return out

def import_graph()->dict:
    "`{module: set of upit_ext modules it imports}`, from every import statement anywhere in its source"
    g = {}
    for f in PKG.rglob('*.py'):
        mod, deps = _module(f), set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom): deps.update(_resolve(mod, f.name == '__init__.py', node))
            elif isinstance(node, ast.Import): deps.update(a.name for a in node.names if a.name.startswith('upit_ext'))
        g[mod] = {d for d in deps if d != mod and d != 'upit_ext'}   # the package itself holds only the version
    return g

def find_cycle(g:dict):
    "A list of modules that import each other in a cycle, or None"
    state, stack = {}, []
    def visit(m):
        state[m] = 1; stack.append(m)
        for d in sorted(g.get(m, ())):
            if state.get(d) == 1: return stack[stack.index(d):] + [d]
            if d not in state and (c := visit(d)): return c
        state[m] = 2; stack.pop()
    for m in sorted(g):
        if m not in state and (c := visit(m)): return c

def test_finds_a_cycle():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set()}) is None

def test_no_import_cycle():
    g = import_graph()
    assert 'upit_ext.train.learners' in g and 'upit_ext.train.callbacks' in g['upit_ext.train.learners']
    assert find_cycle(g) is None, ' -> '.join(find_cycle(g))

def test_layers():
    "`train` never imports `tracking`, `inference` or `cli`; nothing imports `cli`; `models` never import `train`"
    g = import_graph()
    for m,deps in g.items():
        if m.startswith('upit_ext.train'): assert not {d for d in deps if d.startswith(('upit_ext.tracking', 'upit_ext.inference', 'upit_ext.cli'))}, m
        if m not in ('upit_ext.cli', 'upit_ext.__main__'): assert 'upit_ext.cli' not in deps, m
        if m.startswith('upit_ext.models'): assert not {d for d in deps if d.startswith('upit_ext.train')}, m

LAYERS = [['files'], ['core'], ['data'], ['models'], ['train', 'metrics'], ['distributed'], ['use'], ['show'], ['tracking'], ['sharing'], ['app'],
          ['compat'], ['commands'], ['cli', '__main__'], ['inference', 'all']]

def layer(mod:str)->int:
    "The layer of the upit_ext module `mod` (its first name after `upit_ext.`)"
    top = mod.split('.')[1] if mod.count('.') else ''
    hits = [i for i,l in enumerate(LAYERS) if top in l]
    assert hits, f"{mod} is in no layer: add it to LAYERS (and to the docstring)"
    return hits[0]

def test_layer_order():
    "Every import points to the module's own layer or a lower one"
    g = import_graph()
    up = [(m, d) for m,deps in g.items() if m not in ('upit_ext', 'upit_ext._modidx') for d in deps if d != 'upit_ext' and layer(d) > layer(m)]
    assert not up, '; '.join(f'{m} imports {d}' for m,d in up)

def private_imports()->list:
    "`(module, name)` of every `from upit_ext... import _name` (module-level or in a function) between different modules"
    res = []
    for f in PKG.rglob('*.py'):
        mod = _module(f)
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and _resolve(mod, f.name == '__init__.py', node):
                res += [(mod, a.name) for a in node.names if a.name.startswith('_') and a.name != '__version__']
    return res

def test_finds_private_imports(tmp_path):
    src = ast.parse('from .models.base import _class_path, TranslationGAN')
    node = src.body[0]
    assert [a.name for a in node.names if a.name.startswith('_')] == ['_class_path'] and _resolve('upit_ext.sharing', False, node)

def test_no_private_imports():
    "No module imports another's `_private` names: what crosses a module boundary is public and documented"
    assert not private_imports(), private_imports()

def modules_after(code:str)->set:
    "The top-level packages imported after running `code` in a fresh Python"
    r = subprocess.run([sys.executable, '-c', code + '\nimport sys, json; print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))'],
                       capture_output=True, text=True, env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
    assert r.returncode == 0, r.stderr
    return set(json.loads(r.stdout.strip().splitlines()[-1]))

HEAVY = {'torch', 'fastai', 'wandb', 'gradio'}

@pytest.mark.parametrize('args', [[], ['demo'], ['train'], ['translate'], ['evaluate'], ['export'], ['app']])
def test_help_imports_neither_torch_nor_fastai(args):
    code = f"""import contextlib, io
from upit_ext.cli import main
try:
    with contextlib.redirect_stdout(io.StringIO()): main({args + ['--help']!r})
except SystemExit: pass"""
    assert not modules_after(code) & HEAVY

def test_use_layer_imports_no_fastai():
    "The translator, `load` and `translate` import torch, never fastai, wandb or Gradio (an ONNX file translates without them)"
    assert not modules_after('import upit_ext.use.translate, upit_ext.use.load, upit_ext.use.translator') & {'fastai', 'wandb', 'gradio'}

def test_translate_onnx_imports_no_fastai(tmp_path):
    "`upit_ext translate` with an ONNX file imports neither fastai nor wandb nor Gradio"
    pytest.importorskip('onnxruntime'); pytest.importorskip('onnxscript')
    from upit_ext.models.cyclegan import CycleGAN
    from upit_ext.use.export import export_onnx
    from PIL import Image
    f = export_onnx(CycleGAN(3, 3, n_features=4, gen_blocks=1), tmp_path/'g.onnx')
    Image.new('RGB', (20, 16), 'red').save(tmp_path/'a.png')
    mods = modules_after(f"from upit_ext.cli import main; assert main(['translate', '--model', {str(f)!r}, '--input', {str(tmp_path/'a.png')!r}, '--output', {str(tmp_path/'out')!r}]) == 0")
    assert (tmp_path/'out'/'a.png').exists()
    assert not mods & {'fastai', 'wandb', 'gradio'}, mods & {'fastai', 'wandb', 'gradio'}

LEARNER_METHODS = "import upit_ext.all; from upit_ext.train.learners import TranslationLearner as T; print(sorted(n for n in dir(T) if not n.startswith('_')))"

@pytest.mark.parametrize('before', ['', 'import upit_ext.train.learners', 'import upit_ext.use.translate', 'import upit_ext.sharing', 'import upit_ext.cli'])
def test_learner_methods_do_not_depend_on_import_order(before):
    "Every method of `TranslationLearner` exists once `upit_ext.all` is imported, whatever was imported before"
    out = lambda pre: subprocess.run([sys.executable, '-c', f'{pre}\n{LEARNER_METHODS}'], capture_output=True, text=True, check=True).stdout.splitlines()[-1]
    methods = out(before)
    assert methods == out(''), before
    assert all(m in methods for m in ("'translate'", "'distrib_ctx'", "'push_to_hub'", "'sample_images'")), methods

def test_models_never_import_train():
    "`upit_ext.models.*` never imports `upit_ext.train*` (the loss terms import the models, not the other way round)"
    g = import_graph()
    assert 'upit_ext.models.cut' in g and 'upit_ext.train.terms' in g and 'upit_ext.models.cut' in g['upit_ext.train.terms']
    assert not {m: d for m,deps in g.items() if m.startswith('upit_ext.models') for d in deps if d.startswith('upit_ext.train')}

def test_registry_imports_no_model():
    "`upit_ext.models.registry` imports only the models' base, layers and core: each model module registers itself"
    deps = import_graph()['upit_ext.models.registry']
    assert deps <= {'upit_ext.core', 'upit_ext.models.base', 'upit_ext.models.layers'}, deps

def test_commands_and_sharing_import_no_wandb():
    "The command line's commands and the Hub folders import wandb only when a wandb run is asked for (`tracking` is wandb only)"
    assert 'wandb' not in modules_after('import upit_ext.commands, upit_ext.sharing, upit_ext.cli')
