"""Experiment: what the canonical routing text costs in cross-validation, and what wins it back (issue 15).

A fast re-implementation of :func:`mmroute.training.router.cross_validate` for screening many recipes on
two shared CPU cores: the n-gram counts of every text are computed once and each fold only selects its
vocabulary (``min_df`` on its own training rows), IDF and norms from them, exactly as
:class:`mmroute.routing.features.NgramVocabulary` does; MiniLM features come from a disk cache
(float32, computed once). The one shortcut: the temperature is fixed (``--temperature``, the shipped
router's) instead of fitted on an inner split of each fold, which can only move predictions between
the two classes of one route and back (paragraph: SQuAD / NQ; video: the two VideoRAG sets). The
recipes that matter are then re-run with the real code path (``evals/eval/eval_router.py``).

Every figure is out of fold: stratified 5-fold CV (seed 0, by source), augmentation of training rows
only, and the out-of-fold invariance (each fold's model routes the test-pool perturbations of its own
test questions). Nothing is tuned on the folds a figure is reported for beyond choosing among the
variants listed in the output (a model-selection effect of a few tenths of a point at most).

    python -m evals.experiments.exp_router_cv --variants '{"name": {"text": "c1", "augment": 0}}' --out OUT.json

Variant keys: ``text`` (``raw``; ``c1``: canonical version 1; ``c1_case``, ``c1_punct``,
``c1_case_punct``: version 1 keeping case and/or the final punctuation; ``c2_frame``, ``c2_spell``: version 1
plus framing-sentence removal or transposition correction; ``c2``: both; ``c2_case``: framing removal, case kept; ``c2_case_spell``: also the transposition fix, case kept), ``augment``, ``aug_weight``
(sample weight of augmented rows), ``aug_kinds`` (comma-separated), and any :class:`TrainConfig` field
(``C``, ``classifier``, ``dense_scale``, ``cue_scale``, ``min_df``, ``char_range``, ``word_range``, ``soft_weight``).
Distillation: ``teacher_features`` (an ``npz`` with the teacher encoder's features ``X`` of the routing texts,
row order of the data) with ``classifier: logreg`` and ``soft_weight``: each fold's training rows get the
probabilities of a linear probe on those features fitted out of fold *inside* the training part (their
augmented copies inherit them). ``ensemble_logreg``: weight of a logistic regression averaged with the SVM.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from mmroute.routing import canonical as canon  # noqa: E402
from mmroute.routing.dataset import ROUTE_VALUES, load_routing_jsonl  # noqa: E402
from mmroute.routing.embedding import FeatureCache  # noqa: E402
from mmroute.routing.features import cue_vector, ngram_terms  # noqa: E402
from mmroute.routing.model import route_sums, softmax  # noqa: E402
from mmroute.training.perturbations import AUGMENT_KINDS, EXTRA_PERTURBATIONS, PERTURBATIONS, augment, perturb  # noqa: E402
from mmroute.training.router_fit import TrainConfig, route_labels  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "routing" / "universalrag_train.jsonl"


def _c1_variant(keep_case: bool, keep_punct: bool) -> Callable[[str], str]:
    """Version-1 canonicalisation with case folding and/or the final-punctuation drop undone."""

    def f(text: str) -> str:
        c = canon._canonicalize(text, frame=False, spell=False)
        stem = c.stem if keep_punct else canon._FINAL.sub("", c.stem).strip()
        return (stem if keep_case else stem.casefold()) or c.text

    return f


def _c2_case(text: str) -> str:
    """Version 2 without case folding (and so without its transposition fix, which works on folded words)."""
    c = canon._canonicalize(text, frame=True, spell=False)
    return canon._FINAL.sub("", c.stem).strip() or c.text


def _c2_case_spell(text: str) -> str:
    """Version 2 without case folding: the transposition fix runs on each word's folded form and the
    corrected word takes the original's case pattern."""
    ranks = canon._word_ranks()

    def fix(m: re.Match[str]) -> str:
        word = m.group(0)
        folded = word.lower()
        new = canon._correct_word(folded, ranks)
        if new == folded:
            return word
        return new.upper() if word.isupper() else new.capitalize() if word[0].isupper() else new

    return re.sub(r"[A-Za-z]{4,}", fix, _c2_case(text))


def _canonical(frame: bool, spell: bool) -> Callable[[str], str]:
    return lambda t: canon._canonicalize(t, frame=frame, spell=spell).text


TEXT_FNS: dict[str, Callable[[str], str]] = {
    "raw": lambda t: t,
    "c1": _canonical(False, False),
    "c1_case": _c1_variant(True, False),
    "c1_punct": _c1_variant(False, True),
    "c1_case_punct": _c1_variant(True, True),
    "c2_frame": _canonical(True, False),
    "c2_spell": _canonical(False, True),
    "c2": _canonical(True, True),
    "c2_case": _c2_case,
    "c2_case_spell": _c2_case_spell,
}


# Wrappings for a long question that neither perturbation pool uses, written after the framing rule of
# canonicalisation version 2 was designed on the test pool, so they measure how far that rule carries;
# three of the seven sentences have no first-person singular pronoun and are not stripped by it.
_FRESH_PREAMBLES = (
    "Okay, so this is probably a silly thing to ask, but it has been on my mind all afternoon.",
    "Our teacher mentioned this in class today and I did not quite catch the explanation.",
    "Before I forget, there is one more thing I wanted to check with you.",
    "This has been bugging the whole team for days now.",
)
_FRESH_FOLLOWUPS = (
    "Let me know if you need any more details from my side.",
    "A short answer is fine, I just need something to go on.",
    "Sorry if this has been asked before.",
)


def very_long_fresh(text: str, seed: int) -> str:
    """``very_long`` with wrappings from neither pool (see above)."""
    import random

    rng = random.Random(f"very_long_fresh|{seed}")
    return f"{rng.choice(_FRESH_PREAMBLES)} {text.strip()} {rng.choice(_FRESH_FOLLOWUPS)}"


class TermCounts:
    """Global n-gram counts of every text seen, as a CSR matrix over all terms (df 1 included)."""

    def __init__(self, char_range: tuple[int, int], word_range: tuple[int, int]) -> None:
        self.char_range, self.word_range = char_range, word_range
        self.index: dict[str, int] = {}
        self.rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def matrix(self, texts: Sequence[str]) -> Any:
        from scipy.sparse import csr_matrix

        for t in texts:
            if t not in self.rows:
                c = Counter(
                    self.index.setdefault(term, len(self.index))
                    for term in ngram_terms(t, self.char_range, self.word_range)
                )
                self.rows[t] = (np.fromiter(c.keys(), np.int64, len(c)), np.fromiter(c.values(), np.float32, len(c)))
        ind = [self.rows[t][0] for t in texts]
        val = [self.rows[t][1] for t in texts]
        indptr = np.concatenate([[0], np.cumsum([len(i) for i in ind])])
        return csr_matrix((np.concatenate(val), np.concatenate(ind), indptr), shape=(len(texts), len(self.index)))


def tfidf(counts_train: Any, counts_other: Sequence[Any], min_df: int) -> tuple[Any, list[Any]]:
    """NgramVocabulary semantics: vocabulary = terms with df >= min_df in the training rows; sublinear TF
    times smoothed IDF, L2-normalised rows."""
    from sklearn.preprocessing import normalize

    n = counts_train.shape[0]
    df = np.bincount(counts_train.indices, minlength=counts_train.shape[1])
    keep = np.flatnonzero(df >= min_df)
    idf = (np.log((1 + n) / (1 + df[keep])) + 1.0).astype(np.float32)

    def tx(m: Any) -> Any:
        m = m[:, keep].astype(np.float32).tocsr()
        m.data = 1.0 + np.log(m.data)
        return normalize(m.multiply(idf).tocsr())

    def pad(m: Any) -> Any:
        from scipy.sparse import csr_matrix

        if m.shape[1] < len(df):  # texts counted after the training rows: new terms are unknown
            m = csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], len(df)))
        elif m.shape[1] > len(df):
            m = m[:, : len(df)]
        return m

    return tx(counts_train), [tx(pad(m)) for m in counts_other]


def run_variant(
    name: str, spec: dict[str, Any], examples: Sequence[Any], cache: FeatureCache, temperature: float
) -> dict[str, Any]:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.model_selection import StratifiedKFold

    spec = dict(spec)
    text_fn = TEXT_FNS[spec.pop("text", "c1")]
    n_aug = int(spec.pop("augment", 2))
    aug_w = float(spec.pop("aug_weight", 1.0))
    kinds = tuple(spec.pop("aug_kinds", ",".join(AUGMENT_KINDS)).split(","))
    probes_on = bool(spec.pop("probes", True))
    teacher_file = spec.pop("teacher_features", "")
    ensemble = spec.pop("ensemble_logreg", 0.0)
    for k in ("char_range", "word_range"):
        if k in spec:
            spec[k] = tuple(spec[k])
    cfg = TrainConfig(**spec)
    t0 = time.perf_counter()
    qs = [e.question for e in examples]
    y, mapping = route_labels(examples, cfg.use_sources)
    labels = sorted(set(y))
    lab_routes = [mapping[v] for v in labels]
    order = sorted(set(lab_routes), key=ROUTE_VALUES.index)
    texts = [text_fn(q) for q in qs]
    pairs = augment(qs, per_text=n_aug, seed=cfg.seed, kinds=kinds) if n_aug else []
    aug_texts = [text_fn(t) for _, t in pairs]
    aug_parent = np.asarray([i for i, _ in pairs], dtype=np.int64)
    probe_texts = (
        {k: [text_fn(perturb(q, k, seed=i)) for i, q in enumerate(qs)] for k in PERTURBATIONS + EXTRA_PERTURBATIONS}
        if probes_on
        else {}
    )
    if probes_on:
        probe_texts["very_long_fresh"] = [text_fn(very_long_fresh(q, i)) for i, q in enumerate(qs)]
    all_texts = texts + aug_texts
    feats = cache.features(all_texts, log=lambda m: print(name, m, flush=True)).layers
    pf = {k: cache.features(v, log=lambda m: print(name, m, flush=True)).layers for k, v in probe_texts.items()}
    tc = TermCounts(cfg.char_range, cfg.word_range)
    counts = tc.matrix(all_texts)
    pcounts = {k: tc.matrix(v) for k, v in probe_texts.items()}
    cues = np.stack([cue_vector(t) for t in all_texts]) * cfg.cue_scale
    pcues = {k: np.stack([cue_vector(t) for t in v]) * cfg.cue_scale for k, v in probe_texts.items()}
    yall = np.asarray(y + [y[i] for i in aug_parent], dtype=object)
    parent = np.concatenate([np.arange(len(qs)), aug_parent])
    weight = np.concatenate([np.ones(len(qs)), np.full(len(aug_parent), aug_w)])
    probs = np.zeros((len(qs), len(order)))
    pprobs = {k: np.zeros((len(qs), len(order))) for k in probe_texts}
    skf = StratifiedKFold(n_splits=cfg.folds, shuffle=True, random_state=cfg.seed)
    for tr, te in skf.split(np.arange(len(qs)), y):
        in_tr = np.zeros(len(qs), bool)
        in_tr[tr] = True
        rows = np.flatnonzero(in_tr[parent])
        others = [counts[te]] + [pcounts[k][te] for k in probe_texts]
        Xtr_ng, X_others = tfidf(counts[rows], others, cfg.min_df)
        d = feats[rows]
        mu, sd = d.mean(0), d.std(0) + 1e-6
        sc = cfg.dense_scale / np.sqrt(d.shape[1])

        def block(ng: Any, dense: np.ndarray, cue: np.ndarray, mu: Any = mu, sd: Any = sd, sc: float = sc) -> Any:
            return hstack([ng, csr_matrix((dense - mu) / sd * sc), csr_matrix(cue)]).tocsr()

        Xtr = block(Xtr_ng, d, cues[rows])
        soft = None
        if teacher_file and cfg.soft_weight > 0:  # teacher probabilities of the training rows, out of fold inside them
            from mmroute.training.router_distill import fit_encoder_probe

            TX = np.load(teacher_file)["X"]
            ytr = [y[i] for i in tr]
            soft_main = np.zeros((len(qs), len(labels)))
            for itr, ite in StratifiedKFold(n_splits=5, shuffle=True, random_state=cfg.seed).split(tr, ytr):
                a, b = tr[itr], tr[ite]
                soft_main[b] = fit_encoder_probe(TX[a], [y[i] for i in a], labels)(TX[b])
            soft = soft_main[parent[rows]]
        if cfg.classifier == "svm":
            from sklearn.svm import LinearSVC

            clf = LinearSVC(C=cfg.C, class_weight="balanced", max_iter=5000, random_state=cfg.seed)
            clf.fit(Xtr, yall[rows], sample_weight=weight[rows])
        else:
            from sklearn.linear_model import LogisticRegression

            counts_y = Counter(yall[rows])
            bal = np.asarray([len(rows) / (len(labels) * counts_y[v]) for v in yall[rows]])
            clf = LogisticRegression(C=cfg.C, max_iter=3000, tol=1e-5)
            if soft is None:
                clf.fit(Xtr, yall[rows], sample_weight=bal * weight[rows])
            else:  # soft-label cross-entropy: each row once per class, weighted by its target mass
                yi = np.asarray([labels.index(v) for v in yall[rows]])
                target = (1 - cfg.soft_weight) * np.eye(len(labels))[yi] + cfg.soft_weight * soft
                rr, cc = np.nonzero(target > 1e-3)
                sw = target[rr, cc] * bal[rr] * weight[rows][rr]
                clf.fit(Xtr[rr], np.asarray(labels, dtype=object)[cc], sample_weight=sw * len(sw) / sw.sum())
        assert list(clf.classes_) == labels

        clf2 = None
        if ensemble:  # a logistic regression on the same features, averaged with the SVM's calibrated output
            from sklearn.linear_model import LogisticRegression

            counts_y = Counter(yall[rows])
            bal = np.asarray([len(rows) / (len(labels) * counts_y[v]) for v in yall[rows]])
            clf2 = LogisticRegression(C=10.0, max_iter=3000, tol=1e-5).fit(
                Xtr, yall[rows], sample_weight=bal * weight[rows]
            )

        def predict(X: Any, clf: Any = clf, clf2: Any = clf2) -> np.ndarray:
            lp = softmax(clf.decision_function(X) / temperature)
            if clf2 is not None:
                lp = (1 - ensemble) * lp + ensemble * clf2.predict_proba(X)
            p = route_sums(lp, lab_routes)
            routes = sorted(set(lab_routes), key=lab_routes.index)
            out = np.zeros((X.shape[0], len(order)))
            for j, r in enumerate(routes):
                out[:, order.index(r)] = p[:, j]
            return out

        probs[te] = predict(block(X_others[0], feats[te], cues[te]))
        for j, k in enumerate(probe_texts):
            pprobs[k][te] = predict(block(X_others[j + 1], pf[k][te], pcues[k][te]))
    gold = np.asarray([order.index(e.route) for e in examples])
    pred = probs.argmax(1)
    res: dict[str, Any] = {
        "accuracy": float(np.mean(pred == gold)),
        "per_route": {r: float(np.mean(pred[gold == j] == j)) for j, r in enumerate(order)},
        "invariance_unchanged": {k: round(float(np.mean(p.argmax(1) == pred)), 4) for k, p in pprobs.items()},
        "seconds": round(time.perf_counter() - t0),
    }
    print(name, json.dumps(res), flush=True)
    res["probabilities"] = probs
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--cache", default="/tmp/mmroute-router-eval/minilm.npz")
    ap.add_argument("--variants", required=True, help="JSON object: name -> variant spec (see module doc)")
    ap.add_argument("--temperature", type=float, default=0.344)
    ap.add_argument("--out", required=True)
    ap.add_argument("--save-probs", default="", help="directory for each variant's out-of-fold probabilities (.npy)")
    args = ap.parse_args()
    examples = load_routing_jsonl(args.data)
    cache = FeatureCache(args.cache)
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    results.setdefault("note", __doc__.split("\n\n")[2] if __doc__ else "")
    results.setdefault("variants", {})
    for name, spec in json.loads(args.variants).items():
        r = run_variant(name, spec, examples, cache, args.temperature)
        if args.save_probs:
            Path(args.save_probs).mkdir(parents=True, exist_ok=True)
            np.save(Path(args.save_probs) / f"{name}.npy", r["probabilities"])
        del r["probabilities"]
        results["variants"][name] = {"spec": spec, **r}
        results["command"] = " ".join(["python -m evals.experiments.exp_router_cv", *sys.argv[1:]])
        results["date"] = time.strftime("%Y-%m-%d")
        out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
