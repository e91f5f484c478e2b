"""Experiments: ideas measured once and recorded in ``evals/results`` (kept or not); not part of the build."""
