"""The configuration tables of the README (``python -m app config``), generated from the
fields of ``Settings``: their environment names, defaults and descriptions."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings

# the README's configuration tables: title -> its fields, in order
SECTIONS: dict[str, list[str]] = {
    "Paths and index": "corpus_dir index_dir collection chroma_host chroma_port chroma_ssl".split(),
    "Embeddings": (
        "embedding_model embedding_model_path embedding_batch_size embedding_device "
        "embedding_backend embedding_base_url embedding_api_key embedding_timeout_s"
    ).split(),
    "Chunking and ingest": (
        "tokenizer chunk_tokens chunk_overlap_tokens default_outlet max_file_mb ingest_batch_chunks"
    ).split(),
    "Web ingest and admin": (
        "fetch_timeout_s fetch_max_mb fetch_max_redirects fetch_user_agent feed_max_entries web_min_words admin_token"
    ).split(),
    "Retrieval": (
        "retrieval_k retrieval_candidates retrieval_mode dense_weight lexical_weight rrf_k retrieval_refresh_s"
    ).split(),
    "Context selection": (
        "context_tokens context_sentences context_sentences_open context_tokens_open "
        "context_dense_weight context_rank_weight context_checker_weight "
        "context_answer_type_bonus context_window_bonus context_recent_bonus "
        "context_date_group_score context_date_group_similarity"
    ).split(),
    "Answering": (
        "max_question_chars history_turns rewrite_max_tokens rewrite_timeout_s "
        "max_request_turns stream_min_coverage stream_lead_words answer_model checker_model "
        "closest_min_coverage absent_before_generation closest_min_probability "
        "sentence_min_subject sentence_sure_probability sentence_checker_probability sentence_also_probability "
        "closest_passages typed_candidates typed_candidates_from second_reading arithmetic nlp_model"
    ).split(),
    "Serving": (
        "answer_cache_entries answer_cache_persist answer_queue_max answer_rate_per_minute "
        "answer_service_estimate_s answer_slots"
    ).split(),
    "LLM": (
        "llm_backend llm_model llm_model_path model_cache_dir llm_threads llm_context_window "
        "llm_max_tokens llm_prefix_snapshots llm_temperature llm_timeout_s openai_base_url "
        "openai_api_key openai_json_mode openai_extra_body ollama_base_url"
    ).split(),
}


def settings_table() -> str:
    """The configuration tables of the README, one per section, generated from the fields."""
    out = []
    for title, names in SECTIONS.items():
        rows = [f"**{title}**", "", "| Variable | Default | Meaning |", "|---|---|---|"]
        for name in names:
            info = Settings.model_fields[name]
            default = info.get_default(call_default_factory=True)
            if isinstance(default, Path) and str(default).startswith(str(Path.home())):
                default = "~" + str(default)[len(str(Path.home())) :]
            shown = "(unset)" if default is None else f"`{default}`"
            rows.append(f"| `NEWSRAG_{name.upper()}` | {shown} | {info.description} |")
        out.append("\n".join(rows))
    return "\n\n".join(out)
