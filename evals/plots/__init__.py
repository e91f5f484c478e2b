"""Plots of the recorded results in ``evals/results/`` for ``docs/benchmarks.md``."""
