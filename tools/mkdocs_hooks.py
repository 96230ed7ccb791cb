"""MkDocs hooks of the docs build (tools/build_docs.py): each notebook page's table of contents, from its rendered headings, and its
equations as MathML.

mkdocs-jupyter builds the table of contents from the notebook's markdown with Python-Markdown's slugs, which are not the ids nbconvert
gives the headings (code in a heading, dots in `Class.method`), and it leaves out the API entries of `show_doc`. Here the table of
contents lists the h2 and h3 headings of the page as rendered, with their real ids.

nbconvert leaves the notebooks' TeX (`$$...$$` and `$...$` in markdown cells) in the page for MathJax, which mkdocs-jupyter would load
from a CDN (its `<script src="">` stays empty here): the site must work offline and without console errors. Instead each equation is
converted to MathML at build time with `latex2mathml` (browsers render MathML natively), the TeX kept as its annotation. Where
`latex2mathml` is missing or cannot convert an equation (a command it does not know), the raw TeX stays, readable as it is.
"""
import html, re
from mkdocs.structure.toc import get_toc

try: from latex2mathml.converter import convert as _tex2mathml
except ImportError: _tex2mathml = None

# what never holds math (code, scripts) is kept whole; of the rest, tags are kept and math is looked for in the text between them
_re_no_math = re.compile(r'(<(pre|code|script|style|textarea|math)\b.*?</\2\s*>|<[^>]*>)', re.S | re.I)
_re_display = re.compile(r'\$\$(.+?)\$\$', re.S)
# Pandoc's rule for inline math: no space after the opening `$` or before the closing one, no digit right after it ("$5 and $6")
_re_inline = re.compile(r'(?<![\\$\w])\$(?=[^\s$])([^$\n]+?)(?<=[^\s\\$])\$(?![\d$])')

def tex_to_mathml(tex:str, display:bool=False):
    "`tex` as a MathML element (the TeX as its annotation), or None if it cannot be converted"
    if _tex2mathml is None: return None
    try: m = _tex2mathml(tex, display='block' if display else 'inline')
    except Exception: return None
    if re.search(r'<m[io]>\\', m): return None               # a command latex2mathml does not know, copied as text: keep the TeX
    head, body = m.split('>', 1)
    body = body.rsplit('</math>', 1)[0]
    ann = f'<annotation encoding="application/x-tex">{html.escape(tex.strip(), quote=False)}</annotation>'
    return f'{head} class="tex-math">' + f'<semantics><mrow>{body}</mrow>{ann}</semantics></math>'

# a displayed equation wider than the page scrolls on its own rather than overflowing the page
MATH_CSS = '<style>.md-typeset math.tex-math[display="block"]{max-width:100%;overflow-x:auto;overflow-y:hidden;padding:.3em 0}</style>'

def math_to_mathml(content:str)->str:
    "The `$$...$$` and `$...$` equations in the text of the HTML `content` (outside code) as MathML"
    n = 0
    def conv(m, display):
        nonlocal n
        res = tex_to_mathml(html.unescape(m[1]), display)
        if res is None: return m[0]
        n += 1
        return res
    def text(t):
        t = _re_display.sub(lambda m: conv(m, True), t)
        return _re_inline.sub(lambda m: conv(m, False), t)
    parts = _re_no_math.split(content)
    # split() with two groups gives [text, whole match, inner group, text, ...]: convert the texts, keep the matches
    out = []
    for i in range(0, len(parts), 3):
        out.append(text(parts[i]))
        if i + 1 < len(parts): out.append(parts[i+1])
    return (MATH_CSS if n else '') + ''.join(out)

_re_heading = re.compile(r'<h([23])\b[^>]*?\bid="([^"]+)"[^>]*>(.*?)</h\1>', re.S)

def _text(inner:str)->str:
    "The heading's text, without tags and nbconvert's pilcrow anchor"
    return html.unescape(re.sub(r'<[^>]+>', '', inner)).replace('\u00b6', '').strip()

def on_page_content(content, page, config, files):
    if not page.file.src_path.endswith('.ipynb'): return content
    if '$' in content: content = math_to_mathml(content)
    tokens = []
    for level, id_, inner in _re_heading.findall(content):
        tok = dict(level=int(level), id=html.unescape(id_), name=_text(inner), children=[])
        if tok['level'] == 3 and tokens and tokens[-1]['level'] == 2: tokens[-1]['children'].append(tok)
        else: tokens.append(tok)
    page.toc = get_toc(tokens)
    return content
