"""How well the HTML extractor (app/corpus/html.py) keeps the article and drops the
furniture, by word precision and recall against the known article text. It chose the
extractor: on 2026-12-02 trafilatura scored 0.999 / 1.000 against 0.861 / 1.000 for the
selectolax tag walker used before (eval/results/extract.md; the walker is gone since).

Pages: BBC benchmark articles rendered into news-site templates with furniture (menus,
cookie and newsletter boxes, share bars, related links, adverts, comments) placed around
and inside the article, in several page structures; the hand-made pages of
eval/gold/pages (each ``.html`` with its article text in ``.txt``); and the HTML fixture
of the tests. The furniture strings are ours; the article text is read from ../shared at
run time. ``python -m eval.extract [--pages 200]`` prints the table and writes
eval/runs/extract.json.
"""

from __future__ import annotations

import argparse
import html as htmllib
import json
import random
import re
from collections import Counter
from pathlib import Path

from app.corpus.html import html_fields
from eval.common import BBC as BBC_DIR
from eval.common import REPO

PAGES_DIR = REPO / "eval" / "gold" / "pages"
RESULTS = REPO / "eval" / "runs" / "extract.json"
EXTRACTORS = {"trafilatura": html_fields}

MENU = ["Home", "World", "Business", "Sport", "Science", "Culture", "Weather", "Podcasts", "Sign in"]
COOKIE = "We and our partners store cookies on your device to measure audiences and personalise adverts. Accept all or manage your choices."  # noqa: E501
NEWSLETTER = (
    "Get the morning briefing: the stories you need to know, sent to your inbox every weekday. Sign up now, it is free."
)
SHARE = ["Share on Facebook", "Share on X", "Email this story", "Copy link"]
RELATED = ["Five things to watch this week", "Markets react to the latest figures", "The week in pictures"]
ADVERT = "Advertisement. Story continues below this advert."
COMMENTS = "Comments are closed for this story. Read our community guidelines before you post a reply."
FOOTER = "Copyright 2025 Sample Media Group. All rights reserved. Terms of use. Privacy policy. Contact us."
FURNITURE = [COOKIE, NEWSLETTER, ADVERT, COMMENTS, FOOTER, *SHARE, *RELATED]

# the page of tests/test_corpus.py::test_every_format
TEST_FIXTURE = (
    "<html><head><title>Page title</title><meta property='og:site_name' content='Page Times'>"
    "<meta property='article:published_time' content='2025-06-02T10:00:00Z'></head>"
    "<body><nav>Home | World</nav><article><h1>Page title</h1><p>First <b>para</b>.</p>"
    "<script>alert('x')</script><p>Second para.</p></article><footer>(c) Page Times</footer></body></html>"
)

WORD = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")


def words(text: str) -> Counter:
    return Counter(WORD.findall(text.lower()))


def prf(got: str, gold: str) -> tuple[float, float]:
    g, t = words(got), words(gold)
    overlap = sum((g & t).values())
    return (overlap / sum(g.values()) if g else 0.0), (overlap / sum(t.values()) if t else 0.0)


def read_bbc(path: Path) -> tuple[str, list[str]]:
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0], lines[1:]


def render(title: str, paragraphs: list[str], rng: random.Random) -> str:
    """One article page: a random structure and random furniture around and inside the text."""
    e = htmllib.escape
    menu = "".join(f'<li><a href="/{m.lower()}">{m}</a></li>' for m in MENU)
    body = []
    for i, para in enumerate(paragraphs):
        body.append(f"<p>{e(para)}</p>")
        if i == 1 and rng.random() < 0.7:
            body.append(f'<div class="newsletter-signup"><p>{NEWSLETTER}</p><button>Sign up</button></div>')
        if i == 2 and rng.random() < 0.6:
            body.append(f'<div class="ad-slot"><span>{ADVERT}</span></div>')
        if i == 3 and rng.random() < 0.5:
            items = "".join(f'<li><a href="/r{j}">{r}</a></li>' for j, r in enumerate(RELATED))
            body.append(f'<div class="related-links"><h3>Related stories</h3><ul>{items}</ul></div>')
    share = "".join(f'<a class="share" href="#">{s}</a>' for s in SHARE)
    date = f"2025-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
    head = (
        f"<title>{e(title)} - Sample News</title><meta property='og:site_name' content='Sample News'>"
        f"<meta property='article:published_time' content='{date}T08:00:00Z'><meta name='author' content='A Reporter'>"
    )
    article = (
        f"<h1>{e(title)}</h1><div class='byline'>By A Reporter, {date}</div><div class='share-bar'>{share}</div>"
        + "".join(body)
    )
    structure = rng.choice(["article", "main", "divs"])
    if structure == "article":
        content = f"<main><article>{article}</article></main>"
    elif structure == "main":
        content = f"<main id='content'>{article}</main>"
    else:
        content = f"<div id='page'><div class='story-body'>{article}</div></div>"
    extras = f"<div class='comments'><p>{COMMENTS}</p></div>" if rng.random() < 0.5 else ""
    return (
        f"<!doctype html><html><head>{head}</head><body>"
        f"<div class='cookie-consent' role='dialog'><p>{COOKIE}</p><button>Accept all</button></div>"
        f"<header><nav><ul>{menu}</ul></nav></header>{content}{extras}"
        f"<footer><p>{FOOTER}</p></footer></body></html>"
    )


def pages(n_bbc: int, seed: int = 13) -> list[dict]:
    rng = random.Random(seed)
    files = sorted(BBC_DIR.glob("*/*.txt"))
    out = []
    for path in rng.sample(files, min(n_bbc, len(files))):
        title, paras = read_bbc(path)
        out.append({"kind": "bbc", "name": str(path.relative_to(BBC_DIR)), "html": render(title, paras, rng),
                    "title": title, "body": "\n".join(paras)})  # fmt: skip
    for page in sorted(PAGES_DIR.glob("*.html")):
        gold = page.with_suffix(".txt").read_text().split("\n", 1)
        out.append({"kind": "hand-made", "name": page.name, "html": page.read_text(), "title": gold[0].strip(),
                    "body": gold[1]})  # fmt: skip
    out.append({"kind": "test fixture", "name": "tests/test_corpus.py", "html": TEST_FIXTURE, "title": "Page title",
                "body": "First para.\nSecond para."})  # fmt: skip
    return out


def measure(items: list[dict]) -> dict:
    results: dict = {}
    for name, extractor in EXTRACTORS.items():
        rows = []
        for item in items:
            try:
                fields = extractor(item["html"], item["name"])
                text = fields["body"]
            except Exception:  # an extractor that finds nothing scores zero recall
                fields, text = {}, ""
            p, r = prf(text, item["body"])
            leaked = sum(1 for f in FURNITURE if f.lower() in text.lower())
            rows.append({"kind": item["kind"], "p": p, "r": r, "leaked": leaked,
                         "title": fields.get("title") == item["title"]})  # fmt: skip
        results[name] = summarise(rows)
    return results


def summarise(rows: list[dict]) -> dict:
    def agg(sel: list[dict]) -> dict:
        n = len(sel) or 1
        p = sum(r["p"] for r in sel) / n
        rec = sum(r["r"] for r in sel) / n
        return {
            "pages": len(sel),
            "precision": round(p, 3),
            "recall": round(rec, 3),
            "f1": round(2 * p * rec / (p + rec), 3) if p + rec else 0.0,
            "pages_with_furniture": round(sum(1 for r in sel if r["leaked"]) / n, 3),
            "title_right": round(sum(1 for r in sel if r["title"]) / n, 3),
        }

    kinds = sorted({r["kind"] for r in rows})
    return {"all": agg(rows), **{k: agg([r for r in rows if r["kind"] == k]) for k in kinds}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200, help="BBC articles to render (default 200)")
    args = parser.parse_args(argv)
    results = measure(pages(args.pages))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print("| extractor | pages | precision | recall | F1 | pages with furniture | title right |")
    print("|---|---|---|---|---|---|---|")
    for name, by_kind in results.items():
        for kind, row in by_kind.items():
            print(f"| {name} ({kind}) | {row['pages']} | {row['precision']:.3f} | {row['recall']:.3f} | "
                  f"{row['f1']:.3f} | {row['pages_with_furniture']:.3f} | {row['title_right']:.3f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
