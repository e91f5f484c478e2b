"""Answer quality on held-out SQuAD articles: the reader alone, the offline defaults end to end, and the
verifier guarding an endpoint that is right half of the time. Writes ``bench_answers.json``
(to ``--out``; default: a scratch folder, ``--out evals/results`` replaces the committed one).

    python -m evals.bench.bench_answers                       # everything (about 15 minutes on 2 cores)
    python -m evals.bench.bench_answers --limit 60 --out /tmp/b.json   # a quick look

Held out means: the packaged reader was trained on the 10 SQuAD 2.0 *train* articles, and the 3 shared dev
articles used here were never seen in its training. The verifier policies are calibrated on those dev
articles, so every dev article is scored with the fold policy fitted on the *other two*
(``evals/results/verifier_folds/``, written by ``python -m evals.build.calibrate_verifier``).

1. ``reader``: EM/F1 of the packaged reader given each question's own paragraph (answerable questions); its
   span-length penalty is calibrated on these articles, so each article is scored with the penalty chosen
   on the other two.
2. ``offline_e2e``: ``mmroute ask`` with the shipped defaults over a home with the sample SQuAD KBs
   (``squad-paragraph`` + ``squad-document``, routed by the default router): SQuAD EM/F1, correct / wrong /
   abstain and truthfulness over all questions (~half of them unanswerable), and per-question latency.
3. ``endpoint``: ``--generator openai`` behind a real HTTP server on loopback that returns the gold answer
   for every other answerable question and, for the rest, a plausible wrong one (another question's gold
   answer from the same article); share of correct and of wrong answers the verifier lets through.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..paths import SCRATCH

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data")
FOLDS = REPO / "evals" / "results" / "verifier_folds"


def question_from_request(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    if isinstance(content, list):
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content.rsplit("Question:", 1)[-1].split("\nShort answer:", 1)[0].strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="questions per article (default all)")
    ap.add_argument("--home", type=Path, default=None, help="a home with squad-paragraph/squad-document (else built)")
    ap.add_argument("--parts", default="reader,offline_e2e,endpoint")
    ap.add_argument(
        "--out",
        type=Path,
        default=SCRATCH / "bench_answers.json",
        help="the report (default: a scratch folder; evals/results/bench_answers.json replaces the committed one)",
    )
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.path.insert(0, str(REPO))

    from mmroute.config import EndpointConfig, PipelineConfig
    from mmroute.evaluation.answers import evaluate_answers
    from mmroute.evaluation.questions import Question
    from mmroute.kb import Home
    from mmroute.pipeline import Pipeline
    from mmroute.reading.evaluation import evaluate_reader, held_out_length_penalty, read_answerable
    from mmroute.reading.reader import TransformerReader, shared_reader
    from mmroute.reading.squad import f1_score, load_squad

    parts = set(args.parts.split(","))
    squad_json = DATA / "text/squad2_dev/dev-v2.0-shared3articles.json"
    examples = load_squad(squad_json)
    by_article: dict[str, list[Any]] = {}
    for e in examples:
        if args.limit is None or len(by_article.get(e.title, [])) < args.limit:
            by_article.setdefault(e.title, []).append(e)
    report: dict[str, Any] = {
        "data": "squad2_dev: 3 SQuAD 2.0 dev articles, never used to train the reader",
        "articles": sorted(by_article),
        "limit_per_article": args.limit,
    }
    t0 = time.time()
    if "reader" in parts:
        flat = [e for a in sorted(by_article) for e in by_article[a]]
        # the span-length penalty is calibrated on these articles (mmroute reader calibrate): the headline
        # EM/F1 scores each article with the penalty chosen on the other two; the shipped-setting figures
        # (and the no-answer decision and latency) are reported beside it
        held_out = held_out_length_penalty(read_answerable(TransformerReader("packaged", length_penalty=0.0), flat))
        shipped = evaluate_reader(shared_reader("packaged"), flat)
        report["reader"] = {
            **shipped,
            "em": held_out["em"],
            "f1": held_out["f1"],
            "length_penalty_by_held_out_article": held_out["length_penalty_by_held_out_article"],
            "shipped_decoding": {k: shipped[k] for k in ("em", "f1")},
            "note": "em/f1: leave-one-article-out for the span-length penalty; shipped_decoding: "
            "the packaged penalty, chosen on all three articles",
        }
        print("reader:", json.dumps(report["reader"]), file=sys.stderr)

    tmp = None
    if {"offline_e2e", "endpoint"} & parts:
        if args.home is None:
            from mmroute.indexer import Indexer

            tmp = tempfile.TemporaryDirectory(prefix="mmroute-bench-answers-")
            args.home = Path(tmp.name)
            Indexer(Home(args.home)).index(
                "squad",
                DATA / "text/squad2_dev/corpus.jsonl",
                granularity="both",
                description="Wikipedia articles on the Normans, computational "
                "complexity theory and Southern California",
            )
        home = Home(args.home)

        def run(cfg_for: Any, key: str, questions_for: Any) -> None:
            pooled: dict[str, Any] = {}
            per: dict[str, Any] = {}
            for art in sorted(by_article):
                policy = FOLDS / f"policy_without_{art}.json"
                if not policy.is_file():
                    raise SystemExit(f"missing {policy}: run python -m evals.build.calibrate_verifier first")
                pipe = Pipeline.from_home(home, cfg_for(str(policy)))
                pipe.warm_up()
                qs = questions_for(art)
                res = evaluate_answers(pipe.ask, qs)
                per[art] = res.aggregates
            n = sum(a["scored"] for a in per.values())
            for k in ("correct", "wrong", "abstained"):
                pooled[k] = sum(a[k] for a in per.values())
            pooled.update(
                {
                    "n": n,
                    "truthfulness": round((pooled["correct"] - pooled["wrong"]) / n, 4),
                    "correct_rate": round(pooled["correct"] / n, 4),
                    "wrong_rate": round(pooled["wrong"] / n, 4),
                    "abstain_rate": round(pooled["abstained"] / n, 4),
                }
            )
            for k in ("em", "f1"):
                na = sum(a["answerable"] for a in per.values())
                pooled[k] = round(sum(a[k] * a["answerable"] for a in per.values()) / max(1, na), 4)
                pooled[f"unguarded_{k}"] = round(
                    sum(a["unguarded"][k] * a["answerable"] for a in per.values()) / max(1, na), 4
                )
            pooled["p50_ms_by_article"] = {a: v["p50_ms"] for a, v in per.items()}
            report[key] = {"pooled": pooled, "per_article": per}
            print(f"{key}:", json.dumps(pooled), file=sys.stderr)

        def questions(art: str) -> list[Question]:
            return [Question(e.id, e.question, tuple(e.answers)) for e in by_article[art]]

        if "offline_e2e" in parts:
            run(lambda pol: PipelineConfig(policy_path=pol), "offline_e2e", questions)

        if "endpoint" in parts:
            from tests.helpers.fake_openai import FakeOpenAI, Reply

            rng = random.Random(0)
            script: dict[str, str] = {}
            truth: dict[str, bool] = {}
            for exs in by_article.values():
                answerable = [e for e in exs if e.answerable]
                for i, e in enumerate(answerable):
                    if i % 2 == 0:
                        script[e.question], truth[e.question] = e.answers[0], True
                    else:
                        pool = [
                            o.answers[0]
                            for o in answerable
                            if o is not e and max(f1_score(o.answers[0], [g]) for g in e.answers) == 0.0
                        ]
                        script[e.question], truth[e.question] = rng.choice(pool), False

            def reply(body: dict[str, Any]) -> Reply:
                return Reply.ok(script.get(question_from_request(body), "I don't know"))

            with FakeOpenAI(reply_fn=reply) as srv:

                def cfg(pol: str) -> PipelineConfig:
                    return PipelineConfig(
                        generator="openai",
                        kbs=["squad-paragraph"],
                        policy_path=pol,
                        endpoint=EndpointConfig(url=srv.base_url, model="loopback", api_key_env=None),
                    )

                def endpoint_questions(art: str) -> list[Question]:
                    return [Question(e.id, e.question, tuple(e.answers)) for e in by_article[art] if e.answerable]

                run(cfg, "endpoint", endpoint_questions)
            # a shown scripted gold answer scores correct and a shown scripted wrong one scores wrong, so the
            # let-through rates follow from the counts
            ok = sum(1 for v in truth.values() if v)
            bad = len(truth) - ok
            pooled = report["endpoint"]["pooled"]
            pooled["correct_let_through"] = round(pooled["correct"] / max(1, ok), 4)
            pooled["wrong_let_through"] = round(pooled["wrong"] / max(1, bad), 4)
            pooled["scripted"] = {"correct": ok, "wrong": bad}
            print("endpoint let-through:", pooled["correct_let_through"], pooled["wrong_let_through"], file=sys.stderr)
    report["elapsed_s"] = round(time.time() - t0, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {
                k: (v["pooled"] if isinstance(v, dict) and "pooled" in v else v)
                for k, v in report.items()
                if k in ("reader", "offline_e2e", "endpoint")
            },
            indent=1,
        )
    )
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
