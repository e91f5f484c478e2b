"""Benchmarks: speed, memory and quality of stores, indexing, serving and answers (``python -m evals.bench.NAME``).

They write to a scratch folder (:data:`evals.paths.SCRATCH`) unless ``--out`` names another, e.g.
``--out evals/results`` to replace the committed results."""
