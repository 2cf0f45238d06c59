"""The reliability suite, ``python -m eval.reliability`` (see eval/reliability/cli.py for the cases).

- ``cli``: the command line; runs the cases and writes the reports after each;
- ``cases``: one module per group of cases (hostile articles and questions, bad input,
  load, ingest kills, app and ingest at once, supply chain);
- ``fixtures``: what the cases feed the product (hostile corpus, bad files, questions);
- ``judges``: obey and leak markers, clear-error checks, index audits;
- ``probe``: the index audits run in a fresh interpreter (``python -m eval.reliability.probe``);
- ``report``: the figures table, reliability.md and reliability.json;
- ``base``: the figure record and small helpers every case uses.
"""
