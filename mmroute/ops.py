"""The CLI's operations as functions of a :class:`~mmroute.kb.Home` that return the JSON the CLI prints.

The CLI runs them in-process; ``mmroute serve`` runs the same functions for its clients. The dicts
are therefore the same either way by construction, and the CLI renders text from these dicts in
both modes, so ``--json`` and text output do not depend on where the work ran.

>>> from mmroute.kb import Home
>>> search(Home(), "hop", "Who directed Inception?", k=3)["hits"][0]["id"]
'hop/12'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError, MMRouteError

if TYPE_CHECKING:  # what the signatures name; importing them here would load the stores and encoders
    from .config import PipelineConfig
    from .kb import Home
    from .pipeline import Pipeline
    from .routing.base import Router
    from .types import Answer, EncoderSpec, RetrievalResult, StoreSpec


def search(
    home: Home, kb: str, query: str, k: int = 10, image: Path | None = None, mode: str = "dense"
) -> dict[str, Any]:
    """``mmroute search``: ``{"query", "kb", "mode", "hits": [Hit.to_dict()]}`` (``mode``: dense, sparse or
    hybrid; an image query is always dense)."""
    if not query.strip() and image is None:
        raise InputError(
            "nothing to search for", hint="give a query text or an image (mmroute search: QUERY or --image)"
        )
    if image is not None and (query.strip() or mode != "dense"):  # both were taken, and the words silently dropped
        given = f"the query {query.strip()!r}" if query.strip() else f"--mode {mode}"
        raise InputError(
            f"a query image is searched by the image alone: {given} would be ignored",
            hint="search the image, or the words (--mode sparse|hybrid), one at a time; `mmroute ask` uses both",
        )
    base = home.open(kb)
    if image is not None:
        hits, used = base.search_image(image, k), "dense"
    else:
        used = base.search_mode(mode)
        hits = base.search(query, k, mode=used)
    return {"query": query, "kb": kb, "mode": used, "hits": [h.to_dict() for h in hits]}


def make_router(name: str, router_path: Path | str | None = None, threshold: float | None = None) -> Router:
    """A router by registered name (``--router``; a plugin's too), warmed up by the caller: the same
    :func:`~mmroute.routing.create_router` that builds a pipeline's router."""
    from .routing.base import create_router

    return create_router(name, path=router_path, threshold=threshold)


def route(home: Home, question: str, router_factory: Callable[[], Router], image: Path | None = None) -> dict[str, Any]:
    """``mmroute route QUESTION``: ``RouteDecision.to_dict()`` against the home's KBs."""
    if not question.strip():
        raise InputError("the question is empty", hint='route e.g. mmroute route "Who led the Normans?"')
    kbs = home.list()
    router = router_factory()
    return router.route(question, kbs, image).to_dict()


def check_ask(home: Home, kbs: list[str], image: Path | None = None, config: PipelineConfig | None = None) -> None:
    """What ``mmroute ask`` checks before it builds a pipeline: named KBs exist, the home has KBs, and a query image
    has something to go to (an image or video KB among the named ones, or a multimodal endpoint): `ask --kb hop
    --image x.png` answered from the words alone, without a word about the image."""
    infos = [home.manifest(name).info for name in kbs]
    sees_images = config is not None and config.generator == "openai" and bool(config.endpoint.multimodal)
    if image is not None and infos and all(i.modality.value == "text" for i in infos) and not sees_images:
        raise InputError(
            f"the query image cannot be used: {'the KBs named' if len(kbs) > 1 else 'the KB named'} "
            f"({', '.join(kbs)}) {'hold' if len(kbs) > 1 else 'holds'} text only",
            hint="name an image or video KB with --kb (see `mmroute kb list`), leave out --kb to let the router "
            "choose, or send the image to a multimodal endpoint (--generator openai --multimodal)",
        )
    if not kbs and not home.list():
        missing = not Path(home.root).is_dir()
        raise InputError(
            f"the home {home.root} does not exist, so there is nothing to answer from"
            if missing
            else f"the home {home.root} has no KBs yet, so there is nothing to answer from",
            hint="index a corpus first, e.g. mmroute index --kb squad --input "
            "../shared/data/text/squad2_dev/corpus.jsonl --granularity both (or run `make demo`)",
        )


def answer(
    home: Home,
    config: PipelineConfig,
    question: str,
    image: Path | None = None,
    pipeline_factory: Callable[[], Pipeline] | None = None,
) -> Answer:
    """The :class:`~mmroute.types.Answer` that ``mmroute ask`` prints (see :func:`ask`)."""
    check_ask(home, list(config.kbs), image, config)
    if pipeline_factory is None:
        from .pipeline import Pipeline

        pipe = Pipeline.from_home(home, config)
    else:
        pipe = pipeline_factory()
    return pipe.ask(question, image=image)


def ask(
    home: Home,
    config: PipelineConfig,
    question: str,
    image: Path | None = None,
    pipeline_factory: Callable[[], Pipeline] | None = None,
) -> dict[str, Any]:
    """``mmroute ask``: ``Answer.to_dict()`` (answer or abstention, evidence, route, steps, verdict, timings)."""
    return answer(home, config, question, image, pipeline_factory).to_dict()


def step_hits(result: RetrievalResult | None) -> list[list[dict[str, Any]]]:
    """Every retrieval step's hits as dicts (the JSON form of a step keeps only their ids)."""
    return [[h.to_dict() for h in s.hits] for s in result.steps] if result is not None else []


def kb_list(home: Home) -> dict[str, Any]:
    """``mmroute kb list``: ``{"kbs": [KBInfo.to_dict()], "broken": [KBProblem.to_dict()]}`` from the
    manifests (no store is opened); a KB whose manifest cannot be read is listed under ``broken``."""
    return {"kbs": [i.to_dict() for i in home.list()], "broken": [p.to_dict() for p in home.broken()]}


def kb_descriptor(home: Home, name: str) -> dict[str, Any]:
    """A KB's manifest descriptor (what ``kb delete`` confirms against); for a broken KB or the leftovers
    of an interrupted copy, ``{"name", "broken": what is wrong}``."""
    from .errors import StoreError

    problem = home.problem(name)
    if problem is None:
        return home.manifest(name).info.to_dict()
    if home.exists(name):
        try:  # a healthy KB beside the leftovers of an earlier, interrupted copy
            return home.manifest(name).info.to_dict()
        except StoreError:
            pass
    return {"name": name, "broken": problem.problem}


def kb_doctor(home: Home, names: list[str] | None = None) -> dict[str, Any]:
    """``mmroute kb doctor``: for each KB, ``ok`` or what is wrong with it and how to fix it.

    Reads each manifest, opens each store for reading and compares its point count with the manifest's;
    reports broken KBs, unfinished leftovers and KBs being written. Never changes anything.
    """

    problems = [p for p in home.broken() if not names or p.name in names]
    reports: list[dict[str, Any]] = [
        {"name": p.name, "status": "broken", "problem": p.problem, "hint": p.hint} for p in problems
    ]
    healthy = home.names()
    writing = set(home.writing())
    unreadable = {p.name for p in problems if p.name not in healthy}
    for name in names or healthy:
        if name in unreadable:
            continue
        reports.append(_doctor_one(home, name, name in writing))
    return {"kbs": sorted(reports, key=lambda r: r["name"])}


def _doctor_one(home: Home, name: str, writing: bool) -> dict[str, Any]:
    """``kb doctor`` for one KB whose folder has a readable manifest."""
    from .errors import KBLockedError, KBNotFoundError, MMRouteError
    from .kbcheck import delete_hint

    if writing:
        return {
            "name": name,
            "status": "busy",
            "problem": f"KB {name!r} is being written now",
            "hint": "check again when the indexing run has finished",
        }
    try:
        manifest = home.manifest(name)
        live = home.open(name).count()
    except KBNotFoundError as e:
        return {"name": name, "status": "missing", "problem": e.message, "hint": e.hint}
    except KBLockedError as e:
        return {"name": name, "status": "busy", "problem": e.message, "hint": e.hint}
    except MMRouteError as e:
        return {
            "name": name,
            "status": "broken",
            "problem": e.message,
            "hint": e.hint if e.hint and "delete" in e.hint else delete_hint(name),
        }
    finally:
        home.forget(name)
    partial = [s.path for s in manifest.sources.values() if s.status != "done"]
    if partial:
        return {
            "name": name,
            "status": "incomplete",
            "problem": f"KB {name!r} has {len(partial)} source(s) whose indexing was interrupted ({live} items stored)",
            "hint": "re-run the same `mmroute index` command to finish it",
        }
    if live != manifest.info.count:
        return {
            "name": name,
            "status": "mismatch",
            "problem": f"KB {name!r}'s manifest counts {manifest.info.count} items but its store holds {live}",
            "hint": delete_hint(name),  # a re-run of `index` would skip its sources: the manifest has them
            "count": live,
        }
    return {"name": name, "status": "ok", "problem": "", "hint": "", "count": live}


def kb_info(home: Home, name: str) -> dict[str, Any]:
    """``mmroute kb info``: the descriptor plus live count, disk use, search beam and per-source status."""
    manifest = home.manifest(name)
    kb = home.open(name)
    data = manifest.info.to_dict()
    data["count"] = kb.count()
    data["disk_bytes"] = kb.store.disk_bytes()
    beam = getattr(kb.store, "effective_hnsw_ef", None)
    if beam is not None:  # edge: the search beam in use ("auto" grows it with the KB)
        data["search_beam"] = beam()
    on_disk = getattr(kb.store, "on_disk", None)
    if on_disk is not None:  # edge: vectors and BM25 index mapped, or loaded into RAM on open
        data["layout"] = "mapped" if on_disk else "in RAM"
    data["schema_version"] = manifest.schema_version
    data["sources"] = [s.to_dict() for s in manifest.sources.values()]
    return data


def index_spec(
    input_path: Path,
    modality: str | None = None,
    granularity: str | None = None,
    encoder: EncoderSpec | None = None,
    store: StoreSpec | None = None,
    description: str = "",
    loader_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON form of one ``mmroute index`` call (what the server's index jobs run and persist)."""
    return {
        "input": str(input_path),
        "modality": modality,
        "granularity": granularity,
        "encoder": encoder.to_dict() if encoder is not None else None,
        "store": store.to_dict() if store is not None else None,
        "description": description,
        "loader_options": dict(loader_options or {}),
    }


def index(
    home: Home, kb: str, spec: dict[str, Any], progress: Callable[[str, int, int], None] | None = None
) -> dict[str, Any]:
    """``mmroute index``: ``{"reports": [IndexReport.to_dict()]}`` for the KB(s) written.

    The items keep their source file's absolute path (the indexer anchors the input at the working
    directory), while messages and problems name it as the caller typed it (``spec["display_input"]``, else
    ``spec["input"]``), so the CLI in-process and ``mmroute serve`` say the same thing.
    """
    from .indexer import Indexer
    from .types import EncoderSpec, StoreSpec

    enc = EncoderSpec.from_dict(spec["encoder"]) if spec.get("encoder") else None
    store = StoreSpec.from_dict(spec["store"]) if spec.get("store") else None
    say = TypedPath.of(spec)
    with say.in_errors():
        reports = Indexer(home, progress=progress).index(
            kb,
            say.absolute,
            modality=spec.get("modality"),
            granularity=spec.get("granularity"),
            encoder=enc,
            store=store,
            description=spec.get("description") or "",
            loader_options=spec.get("loader_options") or {},
        )
    from .stores.edge import layout_advice

    for r in reports:
        store = home.manifest(r.kb).info.store
        advice = store.backend == "edge" and layout_advice(r.kb, r.count, bool(store.options.get("on_disk")))
        if advice:
            r.notes.append(f"KB {r.kb!r} is loaded into RAM whenever it opens; {advice}")
    out = [r.to_dict() for r in reports]
    for report in out:
        report["notes"] = [say(n) for n in report.get("notes") or []]
        for problem in report.get("problems", []):
            problem["source"], problem["message"] = say(problem.get("source") or ""), say(problem.get("message") or "")
    return {"reports": out}


class TypedPath:
    """Says an absolute input path the way its caller typed it: ``say(text)`` replaces the one by the other."""

    def __init__(self, absolute: Path, typed: str) -> None:
        self.absolute = absolute
        self.typed = typed

    @classmethod
    def of(cls, spec: dict[str, Any]) -> TypedPath:
        """The input of an :func:`index_spec` (absolute on a server, which keeps the typed one in ``display_input``)."""
        return cls(Path(spec["input"]).absolute(), spec.get("display_input") or spec["input"])

    def __call__(self, text: str) -> str:
        return text.replace(str(self.absolute), self.typed) if str(self.absolute) != self.typed else text

    @contextmanager
    def in_errors(self) -> Iterator[None]:
        """An :class:`~mmroute.errors.MMRouteError` raised inside names the path as typed."""
        try:
            yield
        except MMRouteError as e:
            e.message, e.hint = self(e.message), self(e.hint) if e.hint else e.hint
            e.args = (e.message,)
            raise


def index_targets(kb: str, spec: dict[str, Any]) -> list[str]:
    """The KB names an index call writes (``both`` writes ``NAME-paragraph`` and ``NAME-document``).

    Raises the same :class:`InputError` as the indexer for a missing input or a wrong granularity.
    """
    from .indexer import kb_names_for, resolve_granularities
    from .kb import validate_kb_name
    from .loaders.detect import plan_sources
    from .types import Modality

    with TypedPath.of(spec).in_errors():
        validate_kb_name(kb)
        mod = Modality(spec["modality"]) if spec.get("modality") else None
        mod, _, _ = plan_sources(Path(spec["input"]), mod)
        return kb_names_for(kb, resolve_granularities(mod, spec.get("granularity")))
