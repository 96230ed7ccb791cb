"""MkDocs hooks of the docs build (tools/build_docs.py): each notebook page's table of contents, from its rendered headings.

mkdocs-jupyter builds the table of contents from the notebook's markdown with Python-Markdown's slugs, which are not the ids nbconvert
gives the headings (code in a heading, dots in `Class.method`), and it leaves out the API entries of `show_doc`. Here the table of
contents lists the h2 and h3 headings of the page as rendered, with their real ids.
"""
import html, re
from mkdocs.structure.toc import get_toc

_re_heading = re.compile(r'<h([23])\b[^>]*?\bid="([^"]+)"[^>]*>(.*?)</h\1>', re.S)

def _text(inner:str)->str:
    "The heading's text, without tags and nbconvert's pilcrow anchor"
    return html.unescape(re.sub(r'<[^>]+>', '', inner)).replace('\u00b6', '').strip()

def on_page_content(content, page, config, files):
    if not page.file.src_path.endswith('.ipynb'): return content
    tokens = []
    for level, id_, inner in _re_heading.findall(content):
        tok = dict(level=int(level), id=html.unescape(id_), name=_text(inner), children=[])
        if tok['level'] == 3 and tokens and tokens[-1]['level'] == 2: tokens[-1]['children'].append(tok)
        else: tokens.append(tok)
    page.toc = get_toc(tokens)
    return content
