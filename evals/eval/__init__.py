"""Evaluations of components on held-out data: routers, step-wise retrieval, answers, GPU code paths."""
