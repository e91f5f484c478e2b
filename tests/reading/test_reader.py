"""The reader role: any Hugging Face QA checkpoint plugs in; training writes a compact delta that loads back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mmroute.errors import ConfigError, ModelUnavailableError
from mmroute.reading import READERS, Reader, TransformerReader, create_reader

CTX = (
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region "
    "in France. They were descended from Norse raiders under their leader Rollo."
)


def _squad_file(path: Path, n: int = 12) -> Path:
    qas = []
    for i in range(n):
        if i % 4 == 3:
            qas.append(
                {"id": f"u{i}", "question": f"Who ruled Spain in year {i}?", "answers": [], "is_impossible": True}
            )
        else:
            qas.append(
                {
                    "id": f"q{i}",
                    "question": "Who was the leader of the Norse?",
                    "answers": [{"text": "Rollo", "answer_start": CTX.index("Rollo")}],
                }
            )
    path.write_text(
        json.dumps({"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": CTX, "qas": qas}]}]})
    )
    return path


def test_registry_and_protocol(tiny_bert):
    r = create_reader("transformer", model=str(tiny_bert), device="cpu")
    assert isinstance(r, Reader) and "transformer" in READERS.names()


def test_any_hf_checkpoint_folder_reads_long_passages(tiny_bert):
    r = TransformerReader(str(tiny_bert), device="cpu", max_length=64, stride=16)
    long = " ".join([CTX] * 20)
    reading = r.read("Who was the leader?", [long, CTX])
    assert reading.spans, "a random model still ranks spans"
    for sp in reading.spans:
        assert sp.text == [long, CTX][sp.passage_index][sp.char_start : sp.char_end].strip()
    assert r.read("Who was the leader?", []).best is None
    assert r.read("   ", [CTX]).best is None


def test_hub_names_go_to_transformers_and_fail_clearly_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    r = TransformerReader("some-org/not-cached-squad-model", device="cpu")
    with pytest.raises(ModelUnavailableError, match="cannot load reader"):
        r.warm_up()
    with pytest.raises(ConfigError, match="not a folder"):
        TransformerReader("./no/such/folder", device="cpu").warm_up()


def test_train_writes_fp16_delta_that_loads_over_its_base(tiny_bert, tmp_path):
    import torch
    from transformers import AutoModelForQuestionAnswering

    from mmroute.reading.weights import load_reader_model
    from mmroute.training.reader import ReaderTrainConfig, train_reader

    data = _squad_file(tmp_path / "train.json")
    out = tmp_path / "reader"
    rep = train_reader(
        [data],
        str(tiny_bert),
        out,
        ReaderTrainConfig(max_length=64, stride=16, epochs=4, batch_size=4, lr=5e-3, device="cpu"),
        valid=[data],
        log=lambda m: None,
        cache_dir=tmp_path / "cache",
    )
    assert rep["steps"] > 0 and rep["validation"]["answerable"] == 9
    meta = json.loads((out / "reader.json").read_text())
    assert meta["base"] == str(tiny_bert) and meta["max_length"] == 64
    from safetensors.torch import load_file

    saved = load_file(str(out / "reader.safetensors"))
    assert all(v.dtype == torch.float16 for v in saved.values())
    assert not any(k.endswith("word_embeddings.weight") for k in saved), "frozen tables are not shipped"
    model, tok, m = load_reader_model(str(out), "cpu")
    assert "decoding" not in m
    base = AutoModelForQuestionAnswering.from_pretrained(tiny_bert)
    sd, bsd = model.state_dict(), base.state_dict()
    emb = [k for k in sd if k.endswith("word_embeddings.weight")][0]
    assert torch.equal(sd[emb], bsd[emb])
    assert torch.allclose(sd["qa_outputs.weight"], saved["qa_outputs.weight"].float())
    assert not torch.allclose(sd["qa_outputs.weight"], bsd["qa_outputs.weight"]), "training changed the head"
    # a cached second run reuses the tokenised windows
    assert list((tmp_path / "cache").glob("windows-*.pkl"))

    # --init continues training that reader (its head, not a fresh one) and ships a delta over the same base
    more = tmp_path / "reader2"
    more.mkdir()
    (more / "decoding.json").write_text('{"length_penalty": 0.5}')  # chosen for other weights
    rep2 = train_reader(
        [data],
        str(tiny_bert),
        more,
        ReaderTrainConfig(max_length=64, stride=16, max_steps=1, batch_size=4, lr=1e-4, device="cpu"),
        log=lambda m: None,
        cache_dir=tmp_path / "cache",
        init=str(out),
    )
    assert rep2["init"] == str(out) and rep2["steps"] == 1
    assert not (more / "decoding.json").exists(), "a penalty chosen for the old weights must not outlive them"
    cont, _, _ = load_reader_model(str(more), "cpu")
    w0, w1 = sd["qa_outputs.weight"], cont.state_dict()["qa_outputs.weight"]
    assert (w1 - w0).abs().max() < 1e-2 < (bsd["qa_outputs.weight"] - w0).abs().max()
    with pytest.raises(Exception, match="trained over base"):
        train_reader(
            [data], "minilm", tmp_path / "r3", ReaderTrainConfig(max_steps=1), log=lambda m: None, init=str(out)
        )


def test_packaged_reader_is_small_and_answers_held_out_questions(data_dir):
    from mmroute.reading.weights import PACKAGED_DIR

    size = sum(p.stat().st_size for p in PACKAGED_DIR.iterdir())
    assert size <= 25e6
    meta = json.loads((PACKAGED_DIR / "reader.json").read_text())
    assert "Normans" not in meta["trained"]["train_articles"]
    r = TransformerReader("packaged", device="cpu")
    from mmroute.reading.squad import load_squad

    dev = [
        e
        for e in load_squad(data_dir / "text/squad2_dev/dev-v2.0-shared3articles.json")
        if e.title == "Normans" and e.answerable
    ][:40]
    from mmroute.reading.squad import exact_match, f1_score

    preds = [(r.read(e.question, [e.context]).best, e) for e in dev]
    f1 = sum(f1_score(b.text if b else "", e.answers) for b, e in preds) / len(dev)
    em = sum(exact_match(b.text if b else "", e.answers) for b, e in preds) / len(dev)
    assert f1 >= 0.5 and em >= 0.4, (em, f1)
    assert r.read("In what country is Normandy located?", [dev[0].context]).best.text == "France"
    # its margin over "no answer" tells answerable from unanswerable questions (the packaged reader trained
    # on synthetic unanswerable questions: 0.72 on this article; 0.55 over all three before it did)
    from mmroute.reading.evaluation import evaluate_reader

    normans = [
        e for e in load_squad(data_dir / "text/squad2_dev/dev-v2.0-shared3articles.json") if e.title == "Normans"
    ]
    assert evaluate_reader(r, normans)["no_answer_auc"] >= 0.65
    assert meta["trained"]["synthetic_unanswerable"], "trained with rule-made unanswerable questions"


@pytest.mark.process  # spawns the CLI: make test-full
def test_reader_calibrate_cli_stores_the_choice_beside_the_reader(tiny_bert, tmp_path):
    import shutil
    import subprocess
    import sys

    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_bert, folder)
    data = _squad_file(tmp_path / "train.json")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mmroute",
            "reader",
            "calibrate",
            "--model",
            str(folder),
            "--data",
            str(data),
            "--device",
            "cpu",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    saved = json.loads((folder / "decoding.json").read_text())
    assert saved["length_penalty"] == out["length_penalty"] and saved["questions"] == 9
    assert "held_out" not in saved, "one article: no leave-one-article-out figure"
    assert set(saved["grid"]) >= {"0", "0.1", "0.2"}
    assert TransformerReader(str(folder), device="cpu").length_penalty == saved["length_penalty"], (
        "the stored penalty, also before the first read"
    )
    assert TransformerReader(str(folder), device="cpu", length_penalty=0.7).length_penalty == 0.7

    hub = subprocess.run(
        [sys.executable, "-m", "mmroute", "reader", "calibrate", "--model", "someone/squad-model", "--data", str(data)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert hub.returncode != 0 and "hub name, not a local folder" in hub.stderr
    assert "Traceback" not in hub.stderr

    # no default: a forgotten --model once rewrote the installed package's penalty for every later ask
    bare = subprocess.run(
        [sys.executable, "-m", "mmroute", "reader", "calibrate", "--data", str(data)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert bare.returncode == 2 and "Missing option '--model'" in bare.stderr and "Traceback" not in bare.stderr


@pytest.mark.process  # spawns the CLI: make test-full
def test_reader_train_cli_adds_synthetic_unanswerable_questions(tiny_bert, tmp_path):
    import subprocess
    import sys

    paragraphs = [
        (
            "Rollo, the first ruler of Normandy, signed a treaty with Charles III in 911.",
            "Who was the first ruler?",
            "Rollo",
        ),
        ("William of Normandy won the battle at Hastings in 1066.", "Where did William of Normandy win?", "Hastings"),
    ]
    data = {
        "version": "v2.0",
        "data": [
            {
                "title": "Normans",
                "paragraphs": [
                    {
                        "context": c,
                        "qas": [{"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": c.index(a)}]}],
                    }
                    for i, (c, q, a) in enumerate(paragraphs)
                ],
            }
        ],
    }
    path = tmp_path / "train.json"
    path.write_text(json.dumps(data))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "mmroute", "reader", "train", "--data", str(path), "--base", str(tiny_bert)]
    cmd += ["--max-steps", "1", "--max-length", "64", "--stride", "16", "--device", "cpu", "--json"]
    cmd += ["--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "r"), "--synthetic-unanswerable", "1"]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["train_questions"] == 2 and sum(report["synthetic_unanswerable"].values()) == 2
    assert "2 synthetic unanswerable questions" in run.stderr
    bad = subprocess.run(cmd[:-1] + ["1.5"], capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 2 and "--synthetic-unanswerable" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.process  # spawns the CLI: make test-full
def test_reader_eval_cli_reports_em_f1_and_the_no_answer_auc(tiny_bert, tmp_path):
    import subprocess
    import sys

    data = _squad_file(tmp_path / "dev.json")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "mmroute", "reader", "eval", "--data", str(data), "--model", str(tiny_bert)]
    run = subprocess.run(cmd + ["--device", "cpu"], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "answerable (9): EM" in run.stdout and "AUC of the reader's no-answer margin: " in run.stdout
    js = subprocess.run(cmd + ["--json"], capture_output=True, text=True, env=env, timeout=300)
    report = json.loads(js.stdout)
    assert report["questions"] == 12 and 0.0 <= report["no_answer_auc"] <= 1.0


@pytest.mark.process  # spawns the CLI: make test-full
def test_reader_train_cli_resumes_after_sigkill_exactly_where_it_stopped(tiny_bert, tmp_path):
    """A run killed with SIGKILL and started again continues from its last checkpoint and ends with the
    very weights an uninterrupted run writes (same batches, optimiser, schedule and dropout draws)."""
    import signal
    import subprocess
    import sys
    import time

    data = _squad_file(tmp_path / "train.json", n=40)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

    def cmd(out: str, ckpt: str) -> list[str]:
        return [
            sys.executable, "-m", "mmroute", "reader", "train", "--data", str(data), "--base", str(tiny_bert),
            "--epochs", "2", "--batch-size", "2", "--max-length", "64", "--stride", "16", "--device", "cpu",
            "--checkpoint-every", "5", "--checkpoint-dir", str(tmp_path / ckpt), "--cache-dir", str(tmp_path / "c"),
            "--synthetic-unanswerable", "0.5", "--out", str(tmp_path / out), "--json",
        ]  # fmt: skip

    whole = subprocess.run(cmd("whole", "ck-whole"), capture_output=True, text=True, env=env, timeout=600)
    assert whole.returncode == 0, whole.stderr
    proc = subprocess.Popen(cmd("resumed", "ck"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 300
    while not list((tmp_path / "ck").glob("run-*/checkpoint.pt")):
        assert proc.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL and not (tmp_path / "resumed" / "reader.json").exists()
    again = subprocess.run(cmd("resumed", "ck"), capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "resuming from" in again.stderr and "at step " in again.stderr, again.stderr[-2000:]
    assert json.loads(again.stdout)["steps"] == json.loads(whole.stdout)["steps"] > 5
    assert (tmp_path / "resumed" / "reader.safetensors").read_bytes() == (
        tmp_path / "whole" / "reader.safetensors"
    ).read_bytes(), "the resumed run ends with the uninterrupted run's weights"
    assert not list((tmp_path / "ck").glob("run-*/checkpoint.pt")), "a finished run removes its checkpoint"


@pytest.mark.process  # spawns the CLI: make test-full
def test_a_corrupt_or_missing_reader_file_is_a_one_line_error_naming_it(tmp_path):
    import shutil
    import subprocess
    import sys

    from mmroute.reading.weights import META_FILE, PACKAGED_DIR, WEIGHTS_FILE

    bad = tmp_path / "reader"
    shutil.copytree(PACKAGED_DIR, bad)
    (bad / WEIGHTS_FILE).write_bytes((PACKAGED_DIR / WEIGHTS_FILE).read_bytes()[:1000])  # truncated
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    data = _squad_file(tmp_path / "dev.json", n=4)
    cmd = [sys.executable, "-m", "mmroute", "reader", "eval", "--data", str(data), "--model", str(bad)]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode != 0 and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert str(bad / WEIGHTS_FILE) in run.stderr and "make reader" in run.stderr
    with pytest.raises(ModelUnavailableError, match="corrupt") as e:
        (bad / META_FILE).write_text("{not json")
        TransformerReader(str(bad)).warm_up()
    assert str(bad / META_FILE) in str(e.value) and "make reader" in e.value.hint
