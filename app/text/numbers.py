"""Numbers as news writes them, read as a value with its unit and scale.

"$327m" is 327 million US dollars, "£15.8bn" 15.8 billion pounds, "7%" seven per cent,
"a third" one third, "1,000 prisoners" the count 1000. One reader for every check that
compares numbers (the verifier, the claim check, the scorer), so "$327m" never matches
"$327bn" and "7%" never matches a plain "7".

The words it knows (scales, currencies, units, number words) are in the lexicon file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from app.text.lexicon import lexicon

YEARS = range(1800, 2101)


@dataclass(frozen=True)
class Quantity:
    """One number of a text. ``value`` has the scale applied; ``mantissa`` is the number
    as written ("327" of "$327m"); ``unit`` is a currency code, "%", a measure unit or ""."""

    value: float
    mantissa: float
    scale: float
    unit: str
    kind: str  # money | percent | measure | count | fraction | ordinal | year
    text: str
    start: int
    end: int
    metres_or_million: bool = False  # "4.89m" with no currency: million, or metres

    def describe(self) -> str:
        return self.text


@lru_cache(maxsize=1)
def _tables():
    q = lexicon().quantity
    scales = {k.lower(): float(v) for k, v in q["scales"].items()}
    symbols = dict(sorted(q["currency_symbols"].items(), key=lambda kv: -len(kv[0])))
    words = {k.lower(): v for k, v in q["currency_words"].items()}
    units = {k.lower(): v for k, v in q["measure_units"].items()}
    percent = sorted((w.lower() for w in q["percent_words"]), key=len, reverse=True)
    cardinals = {k.lower(): float(v) for k, v in q["cardinals"].items()}
    fractions = {k.lower(): float(v) for k, v in q["fractions"].items()}
    ordinals = {k.lower(): float(v) for k, v in q["ordinals"].items()}

    def alternation(items) -> str:
        return "|".join(re.escape(i) for i in sorted(items, key=len, reverse=True))

    digit = (
        rf"(?P<cur>{alternation(symbols)})?\s?"
        r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<ord>st|nd|rd|th)?"
        rf"(?:(?P<tight>{alternation(k for k in scales if len(k) <= 3)})(?![\w'])"
        rf"|\s?(?P<spaced>{alternation(k for k in scales if len(k) > 3)})\b)?"
        rf"(?:\s?(?P<pct>%|{alternation(percent)}\b)"
        rf"|\s(?P<curw>{alternation(words)})\b"
        rf"|\s?(?P<unit>{alternation(units)})(?![\w/]))?"
    )
    spelled = (
        rf"\b(?P<frac>{alternation(fractions)})\b"
        rf"|\b(?P<wnum>(?:{alternation(cardinals)})(?:[\s-](?:{alternation(cardinals)}))*)"
        rf"(?:\s(?P<wscale>{alternation(k for k in scales if len(k) > 3)}))?\b"
        rf"(?:\s?(?P<wpct>%|{alternation(percent)}\b))?"
        rf"|\b(?P<ordw>{alternation(ordinals)})\b"
    )
    pattern = re.compile(rf"(?<![\w.,]){digit}|{spelled}", re.I)
    return pattern, scales, symbols, words, units, cardinals, fractions, ordinals


def _spelled_value(words: str, cardinals: dict[str, float]) -> float:
    """ "two hundred" -> 200, "twenty-five" -> 25, "a dozen" -> 12."""
    total, current = 0.0, 0.0
    for word in re.split(r"[\s-]+", words.lower()):
        value = cardinals.get(word)
        if value is None:
            continue
        if value == 100 and word != "a hundred":
            current = (current or 1) * 100
        elif value == 1000 and word != "a thousand":
            total += (current or 1) * 1000
            current = 0
        else:
            current += value
    return total + current


def quantities(text: str) -> list[Quantity]:
    """Every number of a text, in order, with its unit and scale."""
    pattern, scales, symbols, words, units, cardinals, fractions, ordinals = _tables()
    out: list[Quantity] = []
    for m in pattern.finditer(text):
        if m.group("num"):
            out.append(_digits(m, scales, symbols, words, units))
        elif m.group("frac"):
            value = fractions[m.group("frac").lower()]
            out.append(Quantity(value, value, 1.0, "", "fraction", m.group(0), m.start(), m.end()))
        elif m.group("wnum"):
            base = _spelled_value(m.group("wnum"), cardinals)
            scale = scales[m.group("wscale").lower()] if m.group("wscale") else 1.0
            unit, kind = ("%", "percent") if m.group("wpct") else ("", "count")
            out.append(Quantity(base * scale, base, scale, unit, kind, m.group(0), m.start(), m.end()))
        elif m.group("ordw"):
            value = ordinals[m.group("ordw").lower()]
            out.append(Quantity(value, value, 1.0, "", "ordinal", m.group(0), m.start(), m.end()))
    return out


def _digits(m: re.Match, scales, symbols, words, units) -> Quantity:
    mantissa = float(m.group("num").replace(",", ""))
    scale_word = (m.group("tight") or m.group("spaced") or "").lower()
    scale = scales.get(scale_word, 1.0)
    currency = symbols.get((m.group("cur") or "").lower()) or (
        {k.lower(): v for k, v in symbols.items()}.get((m.group("cur") or "").lower(), "")
    )
    if m.group("curw"):
        currency = words[m.group("curw").lower()]
    ambiguous = False
    if m.group("pct"):
        unit, kind = "%", "percent"
    elif currency:
        unit, kind = currency, "money"
    elif m.group("unit"):
        unit, kind = units[m.group("unit").lower()], "measure"
    elif scale_word in ("m", "b"):  # "4.89m", "2b" with no currency: million (or metres)
        unit, kind, ambiguous = "", "count", scale_word == "m"
    elif m.group("ord"):
        unit, kind = "", "ordinal"
    elif scale == 1.0 and "," not in m.group("num") and mantissa.is_integer() and int(mantissa) in YEARS:
        unit, kind = "", "year"
    else:
        unit, kind = "", "count"
    return Quantity(mantissa * scale, mantissa, scale, unit, kind, m.group(0).strip(), m.start(), m.end(), ambiguous)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def same_quantity(a: Quantity, b: Quantity, *, lenient: bool = False) -> bool:
    """Whether two quantities state the same amount.

    Per cent is never a plain number ("7%" is not "7"); two currencies must be the same,
    two scales too ("$327m" is not "$327bn"). With ``lenient`` (a gold answer written
    short), a side that gives no currency or no scale is compared by what it does give:
    "51.6" matches "£51.6m".
    """
    if (a.unit == "%") != (b.unit == "%"):
        return False
    if a.unit and b.unit and a.unit != b.unit and not (a.metres_or_million or b.metres_or_million):
        return False
    if _close(a.value, b.value):
        return True
    metres = a.metres_or_million or b.metres_or_million  # "4.89m" read as metres
    if metres and _close(a.mantissa, b.mantissa) and (a.scale == b.scale or "m" in (a.unit, b.unit)):
        return True
    if lenient and (a.scale == 1.0 or b.scale == 1.0) and _close(a.mantissa, b.mantissa):
        return a.unit == b.unit or not (a.unit and b.unit)
    return False


def contains_quantity(text: str, wanted: Quantity, *, lenient: bool = False) -> bool:
    """Whether ``text`` states the amount ``wanted``."""
    return any(same_quantity(wanted, q, lenient=lenient) for q in quantities(text))
