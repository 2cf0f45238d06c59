"""Article text and metadata from an HTML page, with a real HTML parser.

Scripts, styles, navigation, forms and page furniture are dropped; block elements
become paragraphs. Nothing from the page is ever executed or fetched.
"""

from __future__ import annotations

import functools

from selectolax.lexbor import LexborHTMLParser, LexborNode

from app.corpus.fields import parse_date
from app.errors import CorpusError
from app.text.cleaning import clean_paragraphs, normalise_inline

_DROP = (
    "script, style, noscript, template, nav, header, footer, aside, form, iframe, object, embed, "
    "svg, canvas, button, select, input, textarea, img, picture, video, audio, "
    "[role=navigation], [role=banner], [role=contentinfo], [aria-hidden=true]"
)
_BLOCKS = {
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol",
    "blockquote", "pre", "figcaption", "figure", "table", "tr", "td", "th", "dd", "dt", "dl", "br", "hr",
    "body", "address",
}  # fmt: skip


def _meta(tree: LexborHTMLParser, *selectors: str) -> str | None:
    for selector in selectors:
        node = tree.css_first(selector)
        if node is None:
            continue
        value = node.attributes.get("content") or node.attributes.get("datetime") or node.text()
        if value and value.strip():
            return normalise_inline(value)
    return None


def _paragraphs(root: LexborNode) -> list[str]:
    paragraphs: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = "".join(current).strip()
        if text:
            paragraphs.append(text)
        current.clear()

    def walk(node: LexborNode) -> None:
        child = node.child
        while child is not None:
            if child.tag == "-text":
                current.append(child.text_content or "")
            elif child.tag in _BLOCKS:
                flush()
                walk(child)
                flush()
            elif child.tag not in ("-comment", "-doctype"):
                walk(child)
            child = child.next

    walk(root)
    flush()
    return paragraphs


def html_fields(html: str, source: str) -> dict:
    """Title, outlet, date, url, author and cleaned body of an HTML article."""
    tree = LexborHTMLParser(html)
    title = _meta(tree, 'meta[property="og:title"]', "title", "h1")
    outlet = _meta(tree, 'meta[property="og:site_name"]', 'meta[name="publisher"]')
    published_raw = _meta(
        tree,
        'meta[property="article:published_time"]',
        'meta[name="date"]',
        'meta[name="pubdate"]',
        "time[datetime]",
    )
    published = ""
    if published_raw:
        try:
            published = parse_date(published_raw, source)
        except CorpusError:
            published = ""  # page dates are often free text; an undated article is still an article
    url = None
    canonical = tree.css_first('link[rel="canonical"]')
    if canonical is not None:
        url = canonical.attributes.get("href")
    author = _meta(tree, 'meta[name="author"]')

    for node in tree.css(_DROP):
        node.decompose()
    root = tree.css_first("article") or tree.css_first("main") or tree.body
    if root is None:
        raise CorpusError(source, "HTML page has no body")
    paragraphs = _paragraphs(root)
    if title and paragraphs and normalise_inline(paragraphs[0]) == title:
        paragraphs = paragraphs[1:]  # the page's own <h1> repeats the title
    return {
        "title": title,
        "outlet": outlet,
        "published": published,
        "url": url,
        "author": author,
        "body": clean_paragraphs(paragraphs),
    }


def trafilatura_fields(html: str, source: str, url: str | None = None) -> dict:
    """The same fields by trafilatura (main-text detection, metadata, htmldate for the date)."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        deduplicate=False,
        config=_trafilatura_config(),
    )
    if doc is None or not (doc.text or "").strip():
        raise CorpusError(source, "no article text found on the page")
    title = normalise_inline(doc.title) if doc.title else None
    paragraphs = [line for line in doc.text.split("\n") if line.strip()]
    if title and paragraphs and normalise_inline(paragraphs[0]) == title:
        paragraphs = paragraphs[1:]
    published = ""
    if doc.date:
        try:
            published = parse_date(doc.date, source)
        except CorpusError:
            published = ""
    return {
        "title": title,
        "outlet": normalise_inline(doc.sitename) if doc.sitename else None,
        "published": published,
        "url": doc.url,
        "author": normalise_inline(doc.author) if doc.author else None,
        "body": clean_paragraphs(paragraphs),
    }


@functools.cache
def _trafilatura_config():
    """trafilatura's defaults, except that a short article is still extracted by its main
    algorithm (by default under 250 characters it falls back to a cruder one that keeps
    menus and splits paragraphs at inline tags)."""
    from trafilatura.settings import use_config

    config = use_config()
    config["DEFAULT"]["MIN_EXTRACTED_SIZE"] = "1"
    return config
