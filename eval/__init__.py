"""Scoring newsrag against gold Q&A (``python -m eval``) and benchmarks (``python -m eval.bench``)."""
