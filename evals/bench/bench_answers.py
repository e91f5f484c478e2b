"""Answer quality on held-out SQuAD articles: the reader alone, the offline defaults end to end, and the
verifier guarding an endpoint that is right half of the time. Writes ``bench_answers.json``
(to ``--out``, a folder or a ``.json`` file; default: a scratch folder, ``--out evals/results`` replaces the committed one).

    python -m evals.bench.bench_answers                       # everything (about 15 minutes on 2 cores)
    python -m evals.bench.bench_answers --limit 60 --out /tmp/b.json   # a quick look
    python -m evals.bench.bench_answers --parts offline_e2e --update --out evals/results   # one part anew

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

from ..paths import SCRATCH, report_path

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data")
FOLDS = REPO / "evals" / "results" / "verifier_folds"


def question_from_request(body: dict[str, Any]) -> str:
    """The question of a generation request, stripped: the script is keyed by stripped questions (31 of the 950 dev
    questions end in spaces, and their scripted answers were never found: the endpoint said "I don't know")."""
    content = body["messages"][-1]["content"]
    if isinstance(content, list):
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content.rsplit("Question:", 1)[-1].split("\nShort answer:", 1)[0].strip()


def selective(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Selective QA over the drafts (Kamath et al. 2020): answering the questions in order of the verifier's
    confidence, the largest share of all questions answered with at least 80% / 90% of the answers exactly
    right (a draft to an unanswerable question is wrong), and the risk-coverage curve behind them: (coverage,
    precision, the confidence a threshold would need) at each whole percent of the questions, up to every draft."""
    from mmroute.evaluation.answers import score_answer

    scored = sorted(
        (
            (
                float(r["confidence"] if r.get("confidence") is not None else -1.0),
                float(score_answer(r["draft"] or "", False, r["golds"]) == 1),
            )
            for r in records
        ),
        key=lambda x: -x[0],
    )
    right, out80, out90 = 0.0, 0.0, 0.0
    curve: list[list[float]] = []
    step = max(1, len(scored) // 100)
    for i, (conf, ok) in enumerate(scored, 1):
        right += ok
        if right / i >= 0.8:
            out80 = i / len(scored)
        if right / i >= 0.9:
            out90 = i / len(scored)
        if conf >= 0 and (i % step == 0 or i == len(scored) or scored[i][0] < 0):
            curve.append([round(i / len(scored), 4), round(right / i, 4), round(conf, 4)])
    return {
        "coverage_at_precision_0.8": round(out80, 4),
        "coverage_at_precision_0.9": round(out90, 4),
        "risk_coverage": curve,
        "by_threshold": by_threshold(records),
        "answerable_by_threshold": by_threshold([r for r in records if r["golds"]]),
    }


THRESHOLDS = (0.6, 0.45, 0.3, 0.2, 0.1)
"""The ``--verifier-option threshold=X`` values the user guide's "How strict" table reports."""


def by_threshold(records: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """For each of :data:`THRESHOLDS` in place of the policies' own: the share of ``records`` whose draft would be
    shown (its estimate at least the threshold) and the share of those exactly right (``right``; ``right_lenient``
    beside it). The user guide's table reads all questions and, for a corpus whose questions have answers, the
    answerable ones alone."""
    from mmroute.evaluation.answers import score_answer

    out: dict[str, dict[str, float]] = {}
    for t in THRESHOLDS:
        shown = [r for r in records if r["draft"] and r.get("confidence") is not None and r["confidence"] >= t]
        n = max(1, len(shown))
        out[f"{t:.2f}"] = {
            "answered": round(len(shown) / max(1, len(records)), 4),
            "right": round(sum(score_answer(r["draft"], False, r["golds"]) == 1 for r in shown) / n, 4),
            "right_lenient": round(
                sum(score_answer(r["draft"], False, r["golds"], lenient=True) == 1 for r in shown) / n, 4
            ),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="questions per article (default all)")
    ap.add_argument("--home", type=Path, default=None, help="a home with squad-paragraph/squad-document (else built)")
    ap.add_argument("--parts", default="reader,offline_e2e,endpoint")
    ap.add_argument(
        "--next-candidates", type=int, default=None, help="offline_e2e: override the pipeline's next_candidates"
    )
    ap.add_argument(
        "--records",
        type=Path,
        default=None,
        help="offline_e2e: also write its per-question lines (the eval-answers fields and the golds) to this JSONL",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=SCRATCH / "bench_answers.json",
        help="the report (default: a scratch folder; evals/results/bench_answers.json replaces the committed one)",
    )
    ap.add_argument(
        "--update",
        action="store_true",
        help="replace only the parts run in the report at --out, keeping the others as they are",
    )
    args = ap.parse_args(argv)
    args.out = report_path(Path(args.out), "bench_answers.json")  # a folder or a .json file, checked before the run
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

        def run(cfg_for: Any, key: str, questions_for: Any) -> list[dict[str, Any]]:
            pooled: dict[str, Any] = {}
            per: dict[str, Any] = {}
            records: list[dict[str, Any]] = []
            stage_ms: dict[str, list[float]] = {}
            for art in sorted(by_article):
                policy = FOLDS / f"policy_without_{art}.json"
                if not policy.is_file():
                    raise SystemExit(f"missing {policy}: run python -m evals.build.calibrate_verifier first")
                pipe = Pipeline.from_home(home, cfg_for(str(policy)))
                pipe.warm_up()
                qs = questions_for(art)

                def timed_ask(question: str, pipe: Any = pipe) -> Any:
                    ans = pipe.ask(question)
                    for stage in ("verify", "total"):
                        stage_ms.setdefault(stage, []).append(float(ans.timings_ms.get(stage, 0.0)))
                    return ans

                with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as lines:
                    res = evaluate_answers(timed_ask, qs, out=Path(lines.name))
                    lines_out = [json.loads(line) for line in Path(lines.name).read_text().splitlines() if line]
                records += [{**r, "golds": list(q.answers or ())} for r, q in zip(lines_out, qs)]
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
            pooled.update(selective(records))
            for stage, ms in stage_ms.items():  # warm, in-process (the models loaded by warm_up)
                ms.sort()
                pooled[f"{stage}_ms"] = {
                    "p50": round(ms[len(ms) // 2], 1),
                    "p95": round(ms[int(len(ms) * 0.95)], 1),
                    "max": round(ms[-1], 1),
                    "over_500": sum(1 for m in ms if m > 500),
                }
            report[key] = {"pooled": pooled, "per_article": per}
            print(f"{key}:", json.dumps(pooled), file=sys.stderr)
            return records

        def questions(art: str) -> list[Question]:
            return [Question(e.id, e.question, tuple(e.answers)) for e in by_article[art]]

        if "offline_e2e" in parts:
            extra = {} if args.next_candidates is None else {"next_candidates": args.next_candidates}
            lines = run(lambda pol: PipelineConfig(policy_path=pol, **extra), "offline_e2e", questions)
            if args.records is not None:
                args.records.write_text("".join(json.dumps(r) + "\n" for r in lines))

        if "endpoint" in parts:
            from evals.build.calibrate_verifier import as_sentence
            from tests.helpers.fake_openai import FakeOpenAI, Reply

            rng = random.Random(0)
            script: dict[str, tuple[str, str]] = {}
            for exs in by_article.values():
                answerable = [e for e in exs if e.answerable]
                for i, e in enumerate(answerable):
                    if i % 2 == 0:
                        script[e.question.strip()] = (e.answers[0], "correct")
                    else:
                        pool = [
                            o.answers[0]
                            for o in answerable
                            if o is not e and max(f1_score(o.answers[0], [g]) for g in e.answers) == 0.0
                        ]
                        script[e.question.strip()] = (rng.choice(pool), "other_question")
                for e in exs:
                    if not e.answerable and e.plausible_answers:
                        script[e.question.strip()] = (e.plausible_answers[0], "plausible")

            for style in ("span", "sentence"):
                styled = {
                    q: (as_sentence(text, i) if style == "sentence" else text)
                    for i, (q, (text, _)) in enumerate(script.items())
                }

                def reply(body: dict[str, Any], styled: dict[str, str] = styled) -> Reply:
                    return Reply.ok(styled.get(question_from_request(body), "I don't know"))

                key = "endpoint" if style == "span" else "endpoint_sentence"
                with FakeOpenAI(reply_fn=reply) as srv:

                    def cfg(pol: str, url: str = srv.base_url) -> PipelineConfig:
                        return PipelineConfig(
                            generator="openai",
                            kbs=["squad-paragraph"],
                            policy_path=pol,
                            endpoint=EndpointConfig(url=url, model="loopback", api_key_env=None),
                        )

                    def endpoint_questions(art: str) -> list[Question]:
                        return [
                            Question(e.id, e.question, tuple(e.answers))
                            for e in by_article[art]
                            if e.question.strip() in script
                        ]

                    records = run(cfg, key, endpoint_questions)
                # what was let through, by what the endpoint said (the records are the eval-answers lines)
                kind_of = {
                    e.id: script[e.question.strip()][1]
                    for exs in by_article.values()
                    for e in exs
                    if e.question.strip() in script
                }
                pooled = report[key]["pooled"]
                for kind, name in (
                    ("correct", "correct_let_through"),
                    ("other_question", "wrong_let_through"),
                    ("plausible", "plausible_let_through"),
                ):
                    sel = [not r["abstained"] for r in records if kind_of[r["id"]] == kind]
                    pooled[name] = round(sum(sel) / max(1, len(sel)), 4)
                    pooled.setdefault("scripted", {})[kind] = len(sel)
                print(
                    f"{key} let-through: right {pooled['correct_let_through']}, other question's "
                    f"{pooled['wrong_let_through']}, plausible {pooled['plausible_let_through']}",
                    file=sys.stderr,
                )
    report["elapsed_s"] = round(time.time() - t0, 1)
    if args.update and args.out.is_file():
        kept = json.loads(args.out.read_text(encoding="utf-8"))
        report = {
            **kept,
            **report,
            "elapsed_s_by_part": {**kept.get("elapsed_s_by_part", {}), args.parts: report["elapsed_s"]},
        }
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
