"""The ONNX Runtime path against PyTorch: the same tokens, the same vectors, spans and support scores.

The packaged graphs are the ones ``make onnx`` exported; these tests load both runtimes in-process and
compare them on real text (SQuAD 2.0 dev paragraphs of the shared data). The benchmark
``evals/bench/bench_onnx.py`` measures parity on every shared corpus and question.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mmroute.errors import ConfigError, ModelUnavailableError
from mmroute.inference import onnx_models
from mmroute.inference.onnx_models import ONNX_MODELS, TOKENIZER_FILE, uses_onnx
from mmroute.inference.tokenizer import FastTokenizer
from mmroute.reading.windows import make_windows

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def squad_dev(data_dir: Path) -> list[tuple[str, str]]:
    """(question, paragraph) pairs from the shared SQuAD 2.0 dev articles, 60 of them."""
    raw = json.loads((data_dir / "text/squad2_dev/dev-v2.0-shared3articles.json").read_text(encoding="utf-8"))
    pairs = []
    for art in raw["data"]:
        for para in art["paragraphs"][:10]:
            for qa in para["qas"][:2]:
                pairs.append((qa["question"], para["context"]))
    return pairs[:60]


@pytest.fixture(scope="module")
def hf_tokenizer():  # noqa: ANN201
    transformers = pytest.importorskip("transformers")
    from mmroute.encoders.text import minilm_path

    return transformers.AutoTokenizer.from_pretrained(minilm_path())


def test_every_packaged_graph_was_exported_from_the_weights_that_ship() -> None:
    from mmroute.training.onnx_export import sha256, source_files

    for name, spec in ONNX_MODELS.items():
        meta = json.loads((spec.folder / (spec.file + ".json")).read_text(encoding="utf-8"))
        assert spec.path.is_file(), spec.path
        assert meta["sources"] == {p.name: sha256(p) for p in source_files(name)}, f"{spec.path} is stale: make onnx"
        assert meta["precision"] in ("int8", "fp32")
        shipped = meta["parity_vs_torch"]["shipped"]  # the file as users load it, against PyTorch
        assert shipped.get("min_cosine", 1.0) >= 0.999
        assert shipped.get("max_abs_logit_diff", 0.0) <= 0.5
        assert shipped.get("argmax_agreement", 1.0) == 1.0
    assert TOKENIZER_FILE.is_file()


def test_the_fast_tokenizer_cuts_the_same_reader_windows_as_transformers(
    squad_dev: list[tuple[str, str]], hf_tokenizer
) -> None:  # noqa: ANN001
    fast = FastTokenizer()
    questions = [q for q, _ in squad_dev]
    passages = [p * 3 for _, p in squad_dev]  # long enough to overflow into several windows
    ours = make_windows(fast, questions, passages, max_length=256, stride=96)
    theirs = make_windows(hf_tokenizer, questions, passages, max_length=256, stride=96)
    assert len(ours) == len(theirs) > len(questions)
    assert ours == theirs


def test_the_fast_tokenizer_pads_pairs_and_single_texts_like_transformers(
    squad_dev: list[tuple[str, str]], hf_tokenizer
) -> None:  # noqa: ANN001
    fast = FastTokenizer()
    qs = [q for q, _ in squad_dev[:16]]
    ps = [p for _, p in squad_dev[:16]]
    a = fast(qs, ps, padding=True, truncation="only_second", max_length=192, return_tensors="np")
    b = hf_tokenizer(qs, ps, padding=True, truncation="only_second", max_length=192, return_tensors="np")
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        np.testing.assert_array_equal(a[key], b[key])
    a = fast(ps, padding=True, truncation=True, max_length=256, return_tensors="np")
    b = hf_tokenizer(ps, padding=True, truncation=True, max_length=256, return_tensors="np")
    np.testing.assert_array_equal(a["input_ids"], b["input_ids"])
    np.testing.assert_array_equal(a["attention_mask"], b["attention_mask"])


def test_onnx_text_vectors_match_torch(squad_dev: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    from mmroute.encoders.text import TransformerTextEncoder

    texts = [q for q, _ in squad_dev] + [p for _, p in squad_dev[:20]]
    onnx_enc = TransformerTextEncoder(None, registered_name="minilm")
    assert onnx_enc.runtime == "onnx"
    monkeypatch.setenv("MMROUTE_INFERENCE", "torch")
    torch_enc = TransformerTextEncoder(None, registered_name="minilm")
    assert torch_enc.runtime == "torch"
    a, la = onnx_enc.embed_with_layers(texts)
    b, lb = torch_enc.embed_with_layers(texts)
    assert (a * b).sum(1).min() >= 0.995
    assert la.shape == lb.shape
    np.testing.assert_allclose(onnx_enc.encode_texts(texts[:5]), a[:5], atol=1e-5)


def test_onnx_reader_finds_the_same_answers_as_torch(
    squad_dev: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmroute.reading.reader import TransformerReader

    onnx_reader = TransformerReader("packaged")
    assert onnx_reader.runtime == "onnx"
    monkeypatch.setenv("MMROUTE_INFERENCE", "torch")
    torch_reader = TransformerReader("packaged")
    assert torch_reader.runtime == "torch"
    same = 0
    for q, p in squad_dev[:30]:
        a, b = onnx_reader.read(q, [p]), torch_reader.read(q, [p])
        same += (a.best.text if a.best else None) == (b.best.text if b.best else None)
    assert same >= 28
    assert onnx_reader.length_penalty == torch_reader.length_penalty


def test_onnx_support_scores_match_torch(squad_dev: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    from mmroute.verification.support import SupportModel, answer_window

    rows = []
    for q, p in squad_dev[:24]:
        words = p.split()
        answer = " ".join(words[5:7])
        rows.append((q, answer, answer_window(answer, [p])))
    onnx_model = SupportModel()
    assert onnx_model.runtime == "onnx"
    monkeypatch.setenv("MMROUTE_INFERENCE", "torch")
    torch_model = SupportModel()
    assert torch_model.runtime == "torch"
    a, b = np.array(onnx_model.logits(rows)), np.array(torch_model.logits(rows))
    assert np.abs(a - b).max() <= 0.5
    assert np.mean(np.sign(a) == np.sign(b)) >= 0.95


def test_the_backend_switch_says_what_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMROUTE_INFERENCE", "tensorrt")
    with pytest.raises(ConfigError, match="MMROUTE_INFERENCE='tensorrt' is not an inference backend"):
        uses_onnx("encoder")
    monkeypatch.setenv("MMROUTE_INFERENCE", "torch")
    assert not uses_onnx("reader")
    monkeypatch.setenv("MMROUTE_INFERENCE", "onnx")
    monkeypatch.setattr(onnx_models, "onnxruntime_installed", lambda: False)
    with pytest.raises(ModelUnavailableError, match="onnxruntime is not installed"):
        uses_onnx("support")


def test_a_corrupt_graph_is_one_line_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "minilm.onnx"
    bad.write_bytes(b"not a graph")
    spec = onnx_models.OnnxSpec("encoder", tmp_path, "minilm.onnx", ("pooled_layers",), lambda p: True)
    with pytest.raises(ModelUnavailableError, match="cannot load .*minilm.onnx") as e:
        onnx_models.OnnxModel(spec)
    assert "make onnx" in (e.value.hint or "")
