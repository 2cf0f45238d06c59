"""The reliability cases, one module per group; each ``case_*`` function returns
``{"figures": [...], ...}`` (see eval/reliability/base.py ``figure``)."""
