"""`make bench`: the national-scale benchmark, each figure side by side with a plain baseline.

    python -m bench            # national size (about 2.3 million students); writes docs/benchmarks.md
    python -m bench --quick    # small size, a smoke test of every stage (CI runs it)

Stages (each in its own module): feed generation and ingest (`stage_ingest`), page queries
(`stage_queries`), export packages (`stage_exports`), the running app under one and twenty browser
sessions (`stage_app`). Measured work runs in child processes (`child`) so that peak memory is one
process's own and no stage's caches help another. `report` turns the figures into the table.
"""
