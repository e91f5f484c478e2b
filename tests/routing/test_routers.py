"""Routers: trained (shipped artifact), description, guard, LLM (loopback server), ensemble, federated."""

from __future__ import annotations

import numpy as np
import pytest

from mmroute.retrieval.fusion import fuse_hits
from mmroute.routing import (
    ROUTERS,
    DescriptionRouter,
    EnsembleRouter,
    FederatedRouter,
    GuardedRouter,
    LLMRouter,
    MultiRoutePolicy,
    QueryGuard,
    Router,
    TrainedRouter,
    TrainedWithDescriptions,
    default_router,
    parse_description,
    selection_tradeoff,
)
from mmroute.routing.model import RouterModel, default_artifact_dir
from mmroute.types import EncoderSpec, Granularity, Hit, Item, KBInfo, RouteScore, StoreSpec
from tests.helpers.fake_openai import FakeOpenAI, Reply, down_url


def kb(name: str, gran: str, description: str = "") -> KBInfo:
    g = Granularity(gran)
    return KBInfo(
        name=name,
        modality=g.modality,
        granularity=g,
        encoder=EncoderSpec("minilm"),
        dim=384,
        store=StoreSpec("edge"),
        description=description,
    )


KBS = [
    kb("wiki_p", "paragraph"),
    kb("wiki_d", "document"),
    kb("photos", "image"),
    kb("clips", "clip"),
    kb("videos", "video"),
]
HR = kb(
    "hr",
    "paragraph",
    "topic: company HR policies, vacation, parental leave, payroll and benefits\n"
    "Q: How many vacation days do I get per year?\nQ: Who approves parental leave?",
)

# Held-out questions (written for these tests, none is in the shared routing split): the behaviour a
# user depends on, including the surface forms users paste (options, instructions, lower case).
CASES = [
    ("Which of the following is a function of the Federal Reserve?", "no"),
    (
        "The main function of red blood cells is to:\n(A) fight infection\n(B) carry oxygen\n(C) clot blood\n(D) digest fat",
        "no",
    ),
    ("Who sang the national anthem at the super bowl in 2019?", "paragraph"),
    ("Which band was formed first, Blur or Pulp?", "document"),
    ("What color is the roof of the Blue Mosque in Istanbul?", "image"),
    ("At the 12:30 mark, what does the host hand to the guest in the 2023 Late Show episode?", "clip"),
    ("What are the steps to repot an orchid?", "video"),
    ("Question: what are the steps to repot an orchid", "video"),
]


@pytest.fixture(scope="module")
def trained() -> TrainedRouter:
    r = TrainedRouter()
    r.warm_up()
    return r


def test_shipped_artifact_is_small_and_loads():
    d = default_artifact_dir()
    size = sum(p.stat().st_size for p in d.iterdir() if p.is_file())
    assert size < 3_000_000
    m = RouterModel.load(d)
    assert set(m.routes) == {"no", "paragraph", "document", "image", "clip", "video"}
    assert 0.01 < m.temperature < 10


@pytest.mark.parametrize("query,route", CASES)
def test_trained_router_routes_typical_queries(trained, query, route):
    d = trained.route(query, KBS)
    assert isinstance(trained, Router)
    assert d.chosen[0] == route
    assert abs(sum(rs.probability for rs in d.ranked) - 1.0) < 1e-5
    assert [rs.probability for rs in d.ranked] == sorted((rs.probability for rs in d.ranked), reverse=True)
    assert d.elapsed_ms > 0 and d.router == "trained"
    if route != "no":
        assert d.kbs[0] in {k.name for k in KBS if k.granularity.value == route}


def test_missing_kb_is_named_in_reason(trained):
    d = trained.route("What are the steps to repot an orchid?", [kb("wiki_p", "paragraph")])
    assert d.chosen[0] == "video" and "video" not in d.kbs
    assert "no KB of this home serves route(s) video" in d.reason


def test_multi_route_policy_picks_close_runner_up():
    ranked = (RouteScore("paragraph", 0.5), RouteScore("document", 0.4), RouteScore("image", 0.1))
    assert MultiRoutePolicy().choose(ranked) == ("paragraph", "document")
    assert MultiRoutePolicy(margin=0.05).choose(ranked) == ("paragraph",)
    sure = (RouteScore("video", 0.9), RouteScore("clip", 0.1))
    assert MultiRoutePolicy().choose(sure) == ("video",)


def test_multi_route_fusion_weights_kbs_by_route_probability():
    def hits(kbname: str, scores: list[float]) -> list[Hit]:
        return [Hit(Item(f"{kbname}{i}", Granularity.PARAGRAPH, "t"), s, kbname, i + 1) for i, s in enumerate(scores)]

    per_kb = {"wiki_p": hits("wiki_p", [0.60, 0.50, 0.40]), "wiki_d": hits("wiki_d", [0.60, 0.50, 0.40])}
    fused = fuse_hits(per_kb, k=4, weights={"wiki_p": 0.7, "wiki_d": 0.3})
    assert [h.kb for h in fused[:2]] == ["wiki_p", "wiki_p"]
    assert len({h.item.id for h in fused}) == 4


def test_kbs_with_one_encoder_fuse_by_cosine_so_an_unrelated_kb_does_not_crowd_in():
    def hits(kbname: str, scores: list[float]) -> list[Hit]:
        return [Hit(Item(f"{kbname}{i}", Granularity.PARAGRAPH, "t"), s, kbname, i + 1) for i, s in enumerate(scores)]

    per_kb = {"squad": hits("squad", [0.61, 0.55, 0.52, 0.50]), "hop": hits("hop", [0.31, 0.30, 0.29, 0.28])}
    weights = {"squad": 0.9, "hop": 0.9}
    apart = fuse_hits(per_kb, k=4, weights=weights)  # each KB normalised on its own
    assert "hop" in {h.kb for h in apart[:3]}
    together = fuse_hits(per_kb, k=4, weights=weights, spaces={"squad": "minilm", "hop": "minilm"})
    assert [h.kb for h in together] == ["squad"] * 4
    assert together[0].score == pytest.approx(0.61 + 0.05 * 0.9)  # still a cosine (+ the route bonus)
    # with a third KB in another space, the two MiniLM KBs share one normalisation
    per_kb["photos"] = hits("photos", [0.20, 0.10])
    mixed = fuse_hits(per_kb, k=6, weights=weights, spaces={"squad": "minilm", "hop": "minilm", "photos": "conse"})
    assert [h.kb for h in mixed if h.kb != "photos"][:4] == ["squad"] * 4


def test_parse_description_and_opt_in():
    p = parse_description(HR.description)
    assert p.topical and len(p.exemplars) == 2 and p.summary.startswith("company HR")
    assert not parse_description("Wikipedia paragraphs about films").topical


def test_description_router_zero_shot(trained):
    r = DescriptionRouter(featurizer=trained.featurizer)
    cooking = kb("cook", "paragraph", "topic: recipes and cooking techniques\nQ: How long do I boil an egg?")
    d = r.route("How many days of paid vacation do employees get?", [HR, cooking])
    assert d.chosen[0] == "kb:hr" and d.kbs == ("hr",)
    d2 = r.route("How long should pasta cook?", [HR, cooking])
    assert d2.chosen[0] == "kb:cook"
    d3 = r.route("Who won the 1998 football world cup?", [HR, cooking])
    assert d3.chosen == ("no",) and d3.kbs == ()


def test_default_router_combines_trained_and_topical_kbs(trained):
    r = TrainedWithDescriptions(trained)
    kbs = [*KBS, HR]
    d = r.route("How many vacation days do I get per year?", kbs)
    assert d.chosen[0] == "kb:hr" and d.kbs[0] == "hr"
    d2 = r.route("Who sang the national anthem at the super bowl in 2019?", kbs)
    assert d2.chosen[0] == "paragraph" and "hr" not in d2.kbs and "wiki_p" in d2.kbs
    assert abs(sum(rs.probability for rs in d2.ranked) - 1.0) < 1e-5


@pytest.mark.parametrize(
    "query,check",
    [
        ("", "empty"),
        ("   ?!  ", "empty"),
        ("asdkjh qwpoeiru zxcmnb", "gibberish"),
        ("xkcdqz vbnmrt plkjhg wqzxcv", "gibberish"),
        ("Quelle est la capitale de la France et pourquoi est-elle si grande ?", "language"),
        ("Wer hat die Relativitätstheorie entwickelt und wann ist das passiert?", "language"),
        ("東京タワーの高さは何メートルですか", "language"),
    ],
)
def test_guard_rejects_with_reason(trained, query, check):
    g = GuardedRouter(trained)
    d = g.route(query, KBS)
    assert d.rejected and d.chosen == () and d.kbs == ()
    assert d.details["guard"] == check and check in d.reason
    if check == "language":  # a claim about the router, not about what the KBs hold (they may well be German)
        assert "the router reads en only" in d.reason and "--kb" in d.reason and "KBs cover" not in d.reason


def test_guard_lets_real_questions_through(trained):
    g = GuardedRouter(trained)
    for q, route in CASES:
        d = g.route(q, KBS)
        assert not d.rejected and d.chosen[0] == route, q


def test_guard_passes_arithmetic_and_english():
    g = QueryGuard()
    for q in ("2+2=?", "What is the capital of France?", "How do I reset my password?"):
        assert g.check_text(q).action == "pass", q


def test_guard_routes_out_of_domain_to_no():
    guard = QueryGuard(ood_threshold=0.3)
    assert guard.check_domain(0.1).action == "no"
    assert guard.check_domain(0.6).action == "pass"


def test_registry_builds_every_router():
    assert {"trained", "description", "llm", "ensemble", "federated", "guarded", "default"} <= set(ROUTERS.names())
    assert isinstance(default_router(), GuardedRouter)


# ------------------------------------------------------------------ LLM router against a loopback server


class _FixedRouter:
    name = "fixed"

    def warm_up(self) -> None:
        pass

    def route(self, query, kbs, image=None):
        import time

        from mmroute.routing import make_decision

        return make_decision(query, {"paragraph": 0.8, "document": 0.2}, kbs, self.name, time.perf_counter())


def test_llm_router_good_reply():
    with FakeOpenAI([Reply.ok('{"route": "image", "confidence": 0.8}')]) as srv:
        r = LLMRouter(base_url=srv.base_url, model="m", fallback=_FixedRouter())
        d = r.route("What color is the bus?", KBS)
        assert d.chosen == ("image",) and d.kbs == ("photos",) and d.router == "llm"
        assert d.top.probability == pytest.approx(0.8)
        prompt = srv.requests[0]["messages"][0]["content"]
        assert "clip:" in prompt and "video:" in prompt


def test_llm_router_can_pick_topical_kb():
    with FakeOpenAI([Reply.ok('Sure! {"route": "kb:hr", "confidence": 0.9}')]) as srv:
        d = LLMRouter(base_url=srv.base_url, model="m", fallback=_FixedRouter()).route("vacation days?", [*KBS, HR])
        assert d.chosen == ("kb:hr",) and d.kbs == ("hr",)
        assert "kb:hr" in srv.requests[0]["messages"][0]["content"]


@pytest.mark.parametrize(
    "reply",
    [
        "image please",
        '{"route": "pictures", "confidence": 0.9}',
        '{"route": "image", "confidence": 7}',
        '{"route": "image"',
    ],
)
def test_llm_router_malformed_reply_falls_back(reply):
    with FakeOpenAI([Reply.ok(reply)]) as srv:
        d = LLMRouter(base_url=srv.base_url, model="m", fallback=_FixedRouter()).route("q", KBS)
        assert d.details["fallback"] == "malformed reply"
        assert d.chosen == ("paragraph",) and "fell back to fixed" in d.reason


def test_llm_router_endpoint_down_and_500_fall_back():
    d = LLMRouter(base_url=down_url(), model="m", timeout_s=1, max_retries=0, fallback=_FixedRouter()).route("q", KBS)
    assert d.details["fallback"] == "endpoint failed" and d.chosen == ("paragraph",)
    with FakeOpenAI([Reply.status(500)]) as srv:
        d = LLMRouter(base_url=srv.base_url, model="m", max_retries=0, fallback=_FixedRouter()).route("q", KBS)
        assert d.details["fallback"] == "endpoint failed" and "HTTP 500" in d.reason


def test_llm_router_timeout_falls_back_fast():
    import time

    with FakeOpenAI([Reply.slow(3.0, '{"route": "image", "confidence": 0.9}')]) as srv:
        t0 = time.perf_counter()
        d = LLMRouter(base_url=srv.base_url, model="m", timeout_s=0.3, max_retries=0, fallback=_FixedRouter()).route(
            "q", KBS
        )
        assert time.perf_counter() - t0 < 2.0
        assert d.details["fallback"] == "endpoint failed" and "timed out" in d.reason


def test_llm_router_without_fallback_searches_everything():
    with FakeOpenAI([Reply.ok("nope")]) as srv:
        d = LLMRouter(base_url=srv.base_url, model="m", use_default_fallback=False).route("q", KBS)
        assert set(d.kbs) == {k.name for k in KBS}


# ------------------------------------------------------------------ ensemble and federated


def test_ensemble_exposes_agreement(trained):
    with FakeOpenAI([Reply.ok('{"route": "video", "confidence": 0.9}')]) as srv:
        llm = LLMRouter(base_url=srv.base_url, model="m", fallback=_FixedRouter())
        ens = EnsembleRouter([trained, llm])
        d = ens.route("What are the steps to repot an orchid?", KBS)
        assert d.chosen[0] == "video" and d.details["agreement"] == pytest.approx(1.0)
        ens2 = EnsembleRouter([trained, _FixedRouter()], weights=[0.7, 0.3])
        d2 = ens2.route("What are the steps to repot an orchid?", KBS)
        assert d2.chosen[0] == "video" and d2.details["agreement"] == pytest.approx(0.7)
        assert abs(sum(rs.probability for rs in d2.ranked) - 1.0) < 1e-5


def test_federated_router_saves_kb_queries(trained):
    fed = FederatedRouter(trained, threshold=0.3)
    d = fed.route("What are the steps to brew cold brew coffee at home?", KBS)
    assert d.kbs == ("videos",) and d.details["kb_queries_saved"] == 4
    d_all = FederatedRouter(trained, threshold=0.0).route("What are the steps to brew cold brew coffee at home?", KBS)
    assert d_all.details["kb_queries"] == 5


def test_selection_tradeoff_counts_savings_and_recall():
    order = ["no", "paragraph", "document", "image", "clip", "video"]
    probs = np.array([[0.0, 0.6, 0.35, 0.05, 0, 0], [0.9, 0.1, 0, 0, 0, 0], [0, 0.1, 0.2, 0.7, 0, 0]])
    gold = ["document", "no", "image"]
    hi, lo = selection_tradeoff(probs, order, gold, [0.5, 0.3])
    assert hi.recall == pytest.approx(0.5) and hi.no_route_correct == 1.0
    assert hi.kb_queries_per_query == pytest.approx(2 / 3)
    assert lo.recall == pytest.approx(1.0) and lo.kb_queries_per_query == pytest.approx(1.0)
    assert lo.saved_fraction == pytest.approx(1 - 3 / 15)
