"""The benchmark, ``python -m eval.bench`` (see eval/bench/cli.py for what it measures).

- ``cli``: the command line and the run of the parts;
- ``ingest``: part 1, ingest throughput against the raw embedding of the same batches;
- ``retrieval``: part 2, retrieval latency and recall at growing index sizes (``ScaledIndex``);
- ``answers``: part 3, cold start and answer latency of the served app (or of ``worker``);
- ``report``: the targets, the summary table, bench.md and the plot;
- ``base``: constants and helpers the parts share.
"""
