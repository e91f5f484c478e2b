"""Evaluation helpers shared by the CLI's ``eval`` commands and the scripts under ``evals/``."""
