"""How chunks and articles are recorded in the index: ids, metadata and embedded text.

Chunk ids hash the document id, its content hash and the chunk's offsets, so the same
corpus always yields the same ids.
"""

from __future__ import annotations

import hashlib

from app.domain import Article
from app.text.dates import date_int, parse_iso_date


def chunk_id(doc_id: str, doc_hash: str, start: int, end: int) -> str:
    return hashlib.sha256(f"{doc_id}\0{doc_hash}\0{start}\0{end}".encode()).hexdigest()[:32]


def published_int(article: Article) -> int:
    """YYYYMMDD as an int (Chroma range filters compare numbers only); 0 when undated."""
    day = parse_iso_date(article.published)
    return date_int(day) if day else 0


def doc_metadata(article: Article, doc_hash: str) -> dict:
    """The metadata every chunk of an article and its article record carry."""
    meta = {
        "doc_id": article.doc_id,
        "doc_hash": doc_hash,
        "title": article.title,
        "outlet": article.outlet,
        "published": article.published,
        "published_int": published_int(article),
        "source": article.source,
    }
    if article.url:
        meta["url"] = article.url
    if article.author:
        meta["author"] = article.author
    return meta


def embed_text_for(title: str, chunk: str) -> str:
    """What is embedded for a chunk: its article's title gives the chunk its topic."""
    return f"{title}\n{chunk}"
