"""Names in text: capitalised words and numbers (people, places, dates, brands)."""

from __future__ import annotations

import re

from app.text.textmatch import terms


def named_terms(text: str) -> frozenset[str]:
    """Terms of the capitalised words and numbers of a text (names, places, dates),
    sentence-initial words excepted; camel-case brand names ("iPhone", "eBay") too."""
    names = [
        m.group(0)
        for m in re.finditer(r"(?<![.?!]\s)(?<!^)\b[A-Z][\w'-]+|\b[a-z]{1,2}[A-Z][\w'-]+|\b\d[\d,.]*", text.strip())
    ]
    return terms(" ".join(names)).all
