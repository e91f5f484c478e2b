"""Inference without torch: the packaged MiniLM networks run by ONNX Runtime, tokenised by ``tokenizers``.

:mod:`~mmroute.inference.onnx_models` says which exported graphs ship and whether this process uses them
(``$MMROUTE_INFERENCE``: ``auto``, the default, uses ONNX Runtime when it and the graph are installed;
``torch`` forces PyTorch; ``onnx`` requires ONNX Runtime). :mod:`~mmroute.inference.tokenizer` is the
tokenizer the ONNX path reads its inputs with, answering the calls the reader and verifier make of a
Hugging Face fast tokenizer. The graphs are written by :mod:`mmroute.training.onnx_export` (``make onnx``).
"""
