"""Shared fixtures: every test gets its own corpus and index folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.config import Settings

REPO = Path(__file__).resolve().parent.parent
SEED_CORPUS = REPO / "corpus"
JULY_OUTLET = "Unknown outlet"  # the seed article naming no publisher (its front matter says so)
SHARED = REPO.parent / "shared"
BBC = SHARED / "benchmarks" / "bbc"


def make_settings(tmp_path: Path, **overrides) -> Settings:
    """Settings isolated in tmp_path; the fast hashing embedder unless told otherwise, and the
    fitted answer model only with the real local LLM."""
    values = {
        "corpus_dir": tmp_path / "corpus",
        "index_dir": tmp_path / "index",
        "embedding_model": "hashing",
        "chroma_host": None,
    }
    values.update(overrides)
    # the fitted answer model judges the real model's picks; with the fakes every pick is kept
    values.setdefault("answer_model", None if values.get("llm_backend") == "llamacpp" else Path("none"))
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "corpus").mkdir()
    return make_settings(tmp_path)


@pytest.fixture
def real_settings(tmp_path: Path) -> Settings:
    """Settings with the real all-MiniLM-L6-v2 model."""
    (tmp_path / "corpus").mkdir()
    return make_settings(tmp_path, embedding_model="all-MiniLM-L6-v2")


@pytest.fixture
def seed_corpus(tmp_path: Path) -> Path:
    """A private copy of the repo's seed corpus, safe to edit."""
    dest = tmp_path / "corpus"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(SEED_CORPUS, dest)
    return dest


def write_article(
    corpus: Path, rel: str, title: str, body: str, outlet: str = "Test Wire", published: str = "2025-05-01"
) -> Path:
    path = corpus / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'---\ntitle: "{title}"\noutlet: "{outlet}"\npublished: {published}\n---\n\n{body}\n')
    return path


@pytest.fixture(scope="session")
def nlp():
    """The real spaCy pipeline (en_core_web_sm 3.8.0), loaded once."""
    from app.text.nlp import shared_nlp

    return shared_nlp().load()


@pytest.fixture(scope="session")
def bbc_index(tmp_path_factory):
    """The whole BBC benchmark ingested once per test session with the real model."""
    from app.services.ingest import ingest

    if not BBC.is_dir():
        pytest.skip(f"{BBC} is not here (CI has ../shared beside the repo)")
    root = tmp_path_factory.mktemp("bbc")
    settings = make_settings(root, corpus_dir=BBC, embedding_model="all-MiniLM-L6-v2")
    report = ingest(settings, BBC, progress=False)
    return settings, report
