"""Write README.md from nbs/index.ipynb (the docs' front page): markdown cells as they are, code cells as Python blocks.
`nbdev_readme` needs Quarto, which not every machine has; this keeps the two in sync without it. `--check` fails if README.md is stale."""
import json, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def render(nb_path=root/'nbs'/'index.ipynb') -> str:
    out = []
    for cell in json.loads(nb_path.read_text())['cells']:
        src = ''.join(cell['source'])
        lines = src.splitlines()
        directives = [l for l in lines if l.startswith('#|')]
        if any('hide' in d for d in directives): continue
        body = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
        if not body: continue
        out.append(body if cell['cell_type'] == 'markdown' else f'```python\n{body}\n```')
    return '<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file. -->\n\n' + '\n\n'.join(out) + '\n'

if __name__ == '__main__':
    text, readme = render(), root/'README.md'
    if '--check' in sys.argv:
        if readme.read_text() != text: sys.exit('README.md is out of date with nbs/index.ipynb: run `python tools/make_readme.py`')
        print('README.md matches nbs/index.ipynb')
    else: readme.write_text(text)
