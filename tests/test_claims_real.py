"""The claim check on the real parts: spaCy's English pipeline, the all-MiniLM-L6-v2
embedding model and a persistent Chroma index of a tiny invented corpus (no article or
gold item of any set is copied here)."""

from __future__ import annotations

import html
import re

import pytest

from app.adapters.ui.render import render_claim
from app.claims.checker import ClaimChecker
from app.services.ingest import ingest
from tests.conftest import make_settings, write_article

FERRIES = (
    "## Have Norland and Estmark talked since the dispute began?\n\n"
    "The two countries have not held direct ferry talks since the spring of 2021. "
    "Instead, they pass offers through shipping agents.\n\n"
    "Ferry fares rose by a third last year, the transport office said."
)
UNIONS = (
    "Dockers on both coasts walked out again on Tuesday. "
    "The port unions have not held direct ferry talks since 2021 either, their leaders said."
)
WEATHER = "A mild winter kept the harbours free of ice. Fishing crews reported a quiet season."


@pytest.mark.slow
def test_a_negated_passage_contradicts_the_claim_end_to_end(tmp_path):
    from app.wiring import build_answer_service

    settings = make_settings(tmp_path, embedding_model="all-MiniLM-L6-v2", llm_backend="fake")
    corpus = settings.corpus_dir
    write_article(
        corpus, "2025/ferries.md", "Ferry dispute drags on", FERRIES, outlet="North Desk", published="2025-03-03"
    )
    write_article(corpus, "2025/unions.md", "Dockers walk out", UNIONS, outlet="Quay Times", published="2025-06-10")
    write_article(corpus, "2025/weather.md", "A mild winter", WEATHER, outlet="Coast Wire", published="2025-02-01")
    ingest(settings, corpus, progress=False)
    checker = ClaimChecker(build_answer_service(settings).retriever, settings)

    report = checker.check("Norland and Estmark have held direct ferry talks since 2021")
    assert report.verdict == "contradicted", report.as_dict()
    [top] = report.contradicting  # the unions' refusal is about someone else
    assert top.quote.text == "The two countries have not held direct ferry talks since the spring of 2021."
    assert top.reason == (
        "North Desk, 3 March 2025, says the two countries have *not* held direct ferry talks since the spring of 2021."
    )
    assert top.similarity > 0.5, "the real model finds the sentence close to the claim"
    assert report.as_of == "2025-03-03", "the newer article does not decide the verdict"
    assert report.summary.startswith("Contradicted, as of 3 March 2025 (the newest passage that bears on it): ")
    assert report.summary.endswith(top.reason)
    unions = [p for p in report.qualifying if p.quote.outlet == "Quay Times"]
    assert unions and unions[0].reason.endswith("but the claim is about Norland and Estmark.")
    assert checker.check("Norland and Estmark have not held direct ferry talks since 2021").verdict == "supported"

    fares = checker.check("Ferry fares fell last year")
    assert fares.verdict == "contradicted", fares.as_dict()
    assert fares.contradicting[0].reason.startswith("North Desk, 3 March 2025, says ferry fares *rose*")

    # on the page each passage marks its own sentence inside its paragraph (one under a heading too)
    articles = {a.doc_id: a for a in checker.retriever.articles()}
    for claim in ("Norland and Estmark have held direct ferry talks since 2021", "Ferry fares fell last year"):
        report = checker.check(claim)
        page = render_claim(report, articles.get)
        marked = [html.unescape(m) for m in re.findall(r'<mark class="nr-quote">(.*?)</mark>', page, re.S)]
        quoted = [p.quote.text for p in report.supporting + report.contradicting + report.qualifying]
        assert marked == quoted and quoted, (marked, quoted)
