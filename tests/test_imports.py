"The library's modules import each other without cycles (function-level imports included), as the design's layers require."
import ast
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

def test_models_never_import_train():
    "`upit_ext.models.*` never imports `upit_ext.train*` (the loss terms import the models, not the other way round)"
    g = import_graph()
    assert 'upit_ext.models.cut' in g and 'upit_ext.train.terms' in g and 'upit_ext.models.cut' in g['upit_ext.train.terms']
    assert not {m: d for m,deps in g.items() if m.startswith('upit_ext.models') for d in deps if d.startswith('upit_ext.train')}

def test_registry_imports_no_model():
    "`upit_ext.models.registry` imports only the models' base, layers and core: each model module registers itself"
    deps = import_graph()['upit_ext.models.registry']
    assert deps <= {'upit_ext.core', 'upit_ext.models.base', 'upit_ext.models.layers'}, deps
