"""Write README.md from nbs/index.ipynb (the docs' front page): markdown cells as they are, code cells as Python blocks followed by their
stored outputs (text, HTML tables, and images, written to index_files/ as nbdev_readme does).
`nbdev_readme` needs Quarto, which not every machine has; this keeps the two in sync without it. `--check` fails if README.md or an
image is stale."""
import base64, json, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
IMAGES = 'index_files'

def outputs(cell, n:int, images:dict) -> list:
    "Markdown for the stored outputs of code cell number `n`; its images go into `images` (path -> bytes)"
    out, k = [], 0
    for o in cell.get('outputs', []):
        if o['output_type'] == 'stream' and o.get('name') == 'stdout': out.append('```\n' + ''.join(o['text']).rstrip() + '\n```')
        data = o.get('data', {})
        if 'image/png' in data:
            k += 1
            path = f'{IMAGES}/cell-{n}-output-{k}.png'
            images[path] = base64.b64decode(''.join(data['image/png']))
            out.append(f'![]({path})')
        elif 'text/html' in data: out.append(''.join(data['text/html']).strip())
    return out

def render(nb_path=root/'nbs'/'index.ipynb', images:dict=None) -> str:
    out, images = [], {} if images is None else images
    for n, cell in enumerate(json.loads(nb_path.read_text())['cells']):
        src = ''.join(cell['source'])
        lines = src.splitlines()
        directives = [l for l in lines if l.startswith('#|')]
        if any('hide' in d for d in directives): continue
        body = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
        if not body: continue
        out.append(body if cell['cell_type'] == 'markdown' else f'```python\n{body}\n```')
        if cell['cell_type'] == 'code': out += outputs(cell, n, images)
    return '<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file. -->\n\n' + '\n\n'.join(out) + '\n'

if __name__ == '__main__':
    images = {}
    text, readme = render(images=images), root/'README.md'
    stale = {p for p in (root/IMAGES).glob('*.png') if p.relative_to(root).as_posix() not in images} if (root/IMAGES).exists() else set()
    if '--check' in sys.argv:
        if readme.read_text() != text: sys.exit('README.md is out of date with nbs/index.ipynb: run `python tools/make_readme.py`')
        bad = [p for p, b in images.items() if not (root/p).exists() or (root/p).read_bytes() != b] + sorted(map(str, stale))
        if bad: sys.exit(f'README images out of date with nbs/index.ipynb ({", ".join(bad)}): run `python tools/make_readme.py`')
        print('README.md matches nbs/index.ipynb')
    else:
        readme.write_text(text)
        for p in stale: p.unlink()
        for p, b in images.items(): (root/p).parent.mkdir(exist_ok=True); (root/p).write_bytes(b)
