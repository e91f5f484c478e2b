"""The HTTP API of ``mmroute serve`` (FastAPI): one warm process that owns a home's KBs.

Endpoints (OpenAPI docs at ``/docs``, schema at ``/openapi.json``):

====================================  ==================================================================
``GET /health``                       liveness: ``{"status", "pid", "version"}`` (no token needed)
``GET /v1/status``                    home, start time, KBs being written, active jobs
``GET /v1/kbs``                       ``mmroute kb list --json`` (plus ``writing``: KBs being written)
``GET /v1/kbs/{name}``                ``mmroute kb info NAME --json``
``GET /v1/kbs/{name}/descriptor``     the KB's manifest descriptor
``DELETE /v1/kbs/{name}``             delete a KB (refused while it is being written)
``POST /v1/kbs/{name}/index``         queue an index job (202); identical running jobs are joined
``GET /v1/jobs``, ``/v1/jobs/{id}``   index jobs with status, per-KB progress, reports or error
``POST /v1/search``                   ``mmroute search --json`` (text, or an image sent as base64)
``POST /v1/route``                    ``mmroute route QUESTION --json``
``POST /v1/ask``                      ``mmroute ask --json``: the full trace (route, steps, evidence,
                                      draft, verdict, timings)
``POST /v1/retrieve``                 a retriever's result with every step's hits (LlamaIndex)
====================================  ==================================================================

Success bodies are exactly what the in-process CLI prints with ``--json`` (both come from
:mod:`mmroute.ops`). Errors are ``{"error", "hint", "exit_code"}``: exit code 2 for user errors
(the CLI's one line plus hint), 1 for failures of the server itself.
A question or query over ``$MMROUTE_MAX_QUESTION_CHARS`` characters (default 2000, read in the server's
environment; :mod:`mmroute.limits`) is a 400 with one line that never echoes it whole; an invalid KB name in a
``/v1/kbs/...`` path is a 400 with the in-process message even when the path matches no endpoint; a query
image over ``$MMROUTE_MAX_IMAGE_PIXELS`` is refused from its header.

Concurrency: endpoints run in a thread pool, so many readers search and ask at once; writes to a
KB go through :class:`~mmroute.serve.gate.KBGate` (one writer per KB, readers of that KB refused
meanwhile, routed questions skip it and say so in the trace).

>>> app = create_app(ServeState(Path("~/.mmroute").expanduser()))
>>> # uvicorn.run(app, host="127.0.0.1", port=8765)   (``mmroute serve`` does this, see server.py)
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import os
import tempfile
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__, ops
from ..config import DEFAULT_RETRIEVER
from ..envkeys import keys_given, keys_withheld
from ..errors import (
    ConfigError,
    EndpointError,
    InputError,
    JobNotFoundError,
    KBExistsError,
    KBLockedError,
    KBNotFoundError,
    MMRouteError,
    ModelUnavailableError,
)
from ..limits import check_question, validate_kb_name
from .discovery import is_loopback
from .gate import KBGate, ServedHome
from .jobs import JobRegistry

log = logging.getLogger("mmroute.serve")

DEFAULT_MAX_BODY = 32 * 1024 * 1024
"""Largest request body accepted (bytes); an image travels base64-encoded inside the JSON."""
PIPELINE_CACHE = 8
"""Warm pipelines kept (one per distinct ask configuration)."""
PUBLIC_PATHS = frozenset({"/health", "/docs", "/openapi.json"})
DOCS_ASSETS = "/docs/assets"
"""Where the API page's Swagger UI scripts and styles are served from (the ``swagger-ui-bundle`` package): the
page works offline, where FastAPI's default loads them from a CDN and shows a blank page."""


def is_public(path: str) -> bool:
    """Whether ``path`` is served without the bearer token: the health check and the API's description."""
    return path in PUBLIC_PATHS or path.startswith(DOCS_ASSETS + "/")


"""Paths answered without the bearer token: liveness and the API's own description."""


class JSON(JSONResponse):
    """JSON exactly as ``json.dumps(ensure_ascii=False)`` writes it (what the CLI prints)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error_body(message: str, hint: str | None = None, exit_code: int = 2) -> dict[str, Any]:
    """An error as the CLI's ``--json`` gives it, each text on one line (a library's message may hold line breaks)."""
    return {
        "error": " ".join(message.split()),
        "hint": " ".join(hint.split()) if hint else hint,
        "exit_code": exit_code,
    }


_STATUS = (
    (KBNotFoundError, 404),
    (JobNotFoundError, 404),
    (KBLockedError, 409),
    (KBExistsError, 409),
    (ModelUnavailableError, 503),
    (EndpointError, 502),
    (ConfigError, 400),
    (InputError, 400),
)


def mount_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI over ``/openapi.json``, with its assets from the installed ``swagger-ui-bundle``."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="mmroute serve: API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )


def status_for(error: MMRouteError) -> int:
    return next((code for cls, code in _STATUS if isinstance(error, cls)), 400)


# ----- request bodies ----------------------------------------------------------------------------
_LIMIT = (
    "At most $MMROUTE_MAX_QUESTION_CHARS characters (default 2000, the server's environment): a longer one is "
    "refused with 400 and one line (its length and a short prefix)."
)


class ImagePayload(BaseModel):
    name: str = Field("image.png", max_length=255, description="File name; its extension tells the format.")
    data_b64: str = Field(..., description="The image file, base64-encoded.")


class SearchRequest(BaseModel):
    kb: str = Field(..., description="KB to search (no routing).")
    query: str = Field("", description=f"Text query (or empty with an image). {_LIMIT}")
    k: int = Field(10, ge=1, le=1000, strict=True)  # strict: `true` is not 1
    image: ImagePayload | None = None
    mode: str = Field("dense", description="dense | sparse (BM25) | hybrid (text queries)")


class RouteRequest(BaseModel):
    question: str = Field(..., description=_LIMIT)
    image: ImagePayload | None = None
    router: str = Field(
        "default",
        description="a registered router: default | trained | finetuned | description | federated | a plugin's",
    )
    router_path: str | None = None
    threshold: float | None = None


class AskRequest(BaseModel):
    question: str = Field(..., description=_LIMIT)
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="PipelineConfig.to_dict() (flags of ask); generator, verifier and router name registered "
        "implementations, a plugin's too.",
    )
    image: ImagePayload | None = None
    step_hits: bool = Field(
        False,
        description="Also return every retrieval step's hits (`step_hits`), as /v1/retrieve does (the app shows them).",
    )
    endpoint_api_keys: dict[str, str] = Field(
        default_factory=dict,
        description="The caller's keys for the endpoints its config names, by the variable name the config gives "
        "(`api_key_env`); the CLI and the app send theirs. A server without a bearer token sends no key of its own "
        "environment for a request.",
    )


class RetrieveRequest(BaseModel):
    query: str = Field(..., description=_LIMIT)
    k: int = Field(5, ge=1, le=1000, strict=True)
    kbs: list[str] | None = None
    retriever: str = Field(DEFAULT_RETRIEVER, description="stepwise | single (or a plugin's)")
    router: str | None = Field("default", description="a router name, or null to search `kbs` (or every KB)")
    image: ImagePayload | None = None


class IndexRequest(BaseModel):
    input: str = Field(..., description="Absolute path of a JSONL corpus, a folder or a file, on the server.")
    display_input: str | None = Field(None, description="The path as the caller typed it (used in messages).")
    modality: str | None = None
    granularity: str | None = None
    encoder: dict[str, Any] | None = None
    store: dict[str, Any] | None = None
    description: str = ""
    loader_options: dict[str, Any] = Field(default_factory=dict)


# ----- state -------------------------------------------------------------------------------------
class ServeState:
    """What the server holds: the home, the KB gate, the job registry, warm routers and pipelines."""

    def __init__(
        self,
        root: Path | str,
        token: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        warm: bool = True,
        read_only: bool = False,
    ) -> None:
        self.read_only = read_only
        """A home on a read-only disk: searches and answers are served; index jobs and deletes are refused."""
        self.gate = KBGate()
        self.home = ServedHome(str(root), self.gate)
        self.jobs = JobRegistry(self.home, self.gate)
        self.token = token
        self.max_body = int(max_body)
        self.warm = warm
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._routers: dict[Any, Any] = {}
        self._pipelines: dict[Any, Any] = {}
        self._retrievers: dict[Any, Any] = {}
        self._building: dict[Any, threading.Lock] = {}

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self._t0

    def _cached(self, cache: dict[Any, Any], key: Any, build: Callable[[], Any], limit: int | None = None) -> Any:
        """One warm object per key, built once (requests needing other keys do not wait for the build)."""
        with self._lock:
            if key in cache:
                return cache[key]
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                if key in cache:
                    return cache[key]
            obj = build()
            with self._lock:
                cache[key] = obj
                while limit is not None and len(cache) > limit:
                    cache.pop(next(iter(cache)))
                self._building.pop(key, None)
            return obj

    def router(self, name: str, path: str | None, threshold: float | None) -> Any:
        def build() -> Any:
            r = ops.make_router(name, path, threshold)
            r.warm_up()
            return r

        return self._cached(self._routers, ("router", name, path, threshold), build)

    def pipeline(self, config: Any) -> Any:
        from ..pipeline import Pipeline

        def build() -> Any:
            pipe = Pipeline.from_home(self.home, config)
            pipe.warm_up()
            return pipe

        # keys are read at each call (mmroute.envkeys): a cached pipeline holds none of a caller's
        key = ("pipeline", json.dumps(config.to_dict(), sort_keys=True, default=str))
        return self._cached(self._pipelines, key, build, limit=PIPELINE_CACHE)

    def retriever(self, name: str, router: str | None) -> Any:
        from ..retrieval.base import RETRIEVERS

        def build() -> Any:
            if name == "stepwise":
                import mmroute.retrieval.stepwise  # noqa: F401  (registers "stepwise")
            import mmroute.retrieval.single  # noqa: F401

            r = RETRIEVERS.create(name, home=self.home, router=ops.make_router(router, None) if router else None)
            if hasattr(r, "warm_up"):
                r.warm_up()
            return r

        return self._cached(self._retrievers, ("retriever", name, router), build)

    def warm_up(self) -> None:
        """Load what a first question needs: the KBs' encoders and stores, the default router and pipeline."""
        from ..config import PipelineConfig

        t = time.perf_counter()
        for name in self.home.names():
            try:
                kb = self.home.open(name)
                kb.encoder.warm_up()
                kb.count()
            except MMRouteError as e:
                log.warning("KB %s not warmed: %s", name, e.message)
        try:
            self.router("default", None, None)
            if self.home.names():
                self.pipeline(PipelineConfig())
        except MMRouteError as e:
            log.warning("default pipeline not warmed: %s", e.message)
        log.info("warm in %.1f s", time.perf_counter() - t)


# ----- middleware --------------------------------------------------------------------------------
def guard(app: ASGIApp, state: ServeState) -> ASGIApp:
    """Pure ASGI middleware: the bearer token (when set) and the request-size limit."""

    async def send_error(
        send: Send, status: int, body: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(raw)).encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": raw})

    too_big = error_body(
        f"request body larger than {state.max_body} bytes",
        "send a smaller image or query (the server's limit is --max-body-mb)",
    )

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if not state.token and not loopback_host(headers.get(b"host", b"").decode("latin-1")):
            # a page in a browser can reach a loopback server under a name of its own (DNS rebinding): a server
            # without a token answers only requests addressed to this machine by a loopback name
            return await send_error(
                send,
                403,
                error_body(
                    "this server answers requests addressed to 127.0.0.1, localhost or [::1] only",
                    "use http://127.0.0.1:PORT, or start the server with $MMROUTE_SERVE_TOKEN set",
                ),
            )
        if state.token and not is_public(str(scope.get("path") or "")):
            got = headers.get(b"authorization", b"").decode("latin-1")
            if not hmac.compare_digest(got.encode(), f"Bearer {state.token}".encode()):
                return await send_error(
                    send,
                    401,
                    error_body(
                        "the server needs a bearer token (missing or wrong Authorization header)",
                        "set MMROUTE_SERVE_TOKEN to the token the server was started with",
                    ),
                    [(b"www-authenticate", b"Bearer")],
                )
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > state.max_body:
            return await send_error(send, 413, too_big)
        # a server without a token answers anyone who reaches it: requests name endpoints, never get the owner's keys
        with keys_withheld() if not state.token else nullcontext():
            return await admitted(scope, receive, send)

    async def admitted(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            return await app(scope, receive, send)
        # read the body here, counting bytes (a chunked upload has no Content-Length), then hand it on
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > state.max_body:
                return await send_error(send, 413, too_big)
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await app(scope, replay, send)

    return middleware


# ----- helpers -----------------------------------------------------------------------------------
def loopback_host(host: str) -> bool:
    """Whether a request's ``Host`` header names this machine by a loopback name or address (any port)."""
    name = host.strip()
    if name.startswith("["):
        name = name[: name.find("]") + 1] if "]" in name else name
    elif name.count(":") == 1:
        name = name.rsplit(":", 1)[0]
    return is_loopback(name)


@contextmanager
def image_file(payload: ImagePayload | None) -> Iterator[Path | None]:
    """A request's image as a temporary file (deleted afterwards)."""
    if payload is None:
        yield None
        return
    try:
        data = base64.b64decode(payload.data_b64, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("the image is not valid base64", hint="send the file's bytes base64-encoded") from None
    suffix = Path(payload.name).suffix[:16] or ".img"
    fd, name = tempfile.mkstemp(prefix="mmroute-serve-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        from ..loaders.sniff import check_image_file

        yield check_image_file(Path(name), payload.name)  # a bomb is refused from its header, before decoding
    finally:
        Path(name).unlink(missing_ok=True)


_KB_PATH = "/v1/kbs/"
_KB_ENDPOINTS = ("", "/descriptor", "/index")


def bad_kb_name(request: Request) -> InputError | None:
    """The in-process error for the KB name of a ``/v1/kbs/NAME...`` path that matched no endpoint
    (a name holding ``/``, say), or None when the name is valid (a genuinely unknown endpoint)."""
    raw = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    path = raw.decode("latin-1").partition("?")[0]
    if not path.startswith(_KB_PATH) or len(path) == len(_KB_PATH):
        return None
    rest = path[len(_KB_PATH) :]
    for ending in sorted(_KB_ENDPOINTS, key=len, reverse=True):
        if ending and rest.endswith(ending) and len(rest) > len(ending):
            rest = rest[: -len(ending)]
            break
    try:
        validate_kb_name(urllib.parse.unquote(rest, errors="replace"))
    except InputError as e:
        return e
    return None


# ----- the app -----------------------------------------------------------------------------------
def create_app(
    state: ServeState, on_ready: Callable[[], None] | None = None, on_stop: Callable[[], None] | None = None
) -> ASGIApp:
    """The ASGI app over ``state``. ``on_ready`` runs once warm (the server writes its discovery file);
    ``on_stop`` runs at shutdown (it removes it)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        import anyio

        if state.warm:
            await anyio.to_thread.run_sync(state.warm_up)
        resumed = [] if state.read_only else state.jobs.resume()
        if resumed:
            log.info("resumed %d index job(s): %s", len(resumed), ", ".join(j.id for j in resumed))
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            if on_stop is not None:
                on_stop()

    app = FastAPI(
        title="mmroute serve",
        version=__version__,
        default_response_class=JSON,
        lifespan=lifespan,
        description="One warm process per mmroute home: search, route, ask, KBs and index jobs. "
        "Success bodies are what `mmroute ... --json` prints.",
        docs_url=None,  # served below from local files
        redoc_url=None,
    )
    mount_docs(app)

    @app.exception_handler(MMRouteError)
    async def _user_error(_: Request, e: MMRouteError) -> JSON:
        return JSON(error_body(e.message, e.hint), status_code=status_for(e))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError) -> JSON:
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        if first.get("type") == "json_invalid":  # its location is a character offset, not a field
            where = f"body, character {where}" if where else "body"
        return JSON(
            error_body(
                f"invalid request: {where or 'body'}: {first.get('msg', 'invalid')}",
                "see /docs for the request schemas",
            ),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSON:
        bad = bad_kb_name(request) if e.status_code in (404, 405) else None
        if bad is not None:  # /v1/kbs/..%2Fhop/index matches no endpoint: say why, as the CLI does in-process
            return JSON(error_body(bad.message, bad.hint), status_code=400)
        return JSON(error_body(str(e.detail), "see /docs for the endpoints"), status_code=e.status_code)

    @app.exception_handler(Exception)
    async def _crash(_: Request, e: Exception) -> JSON:
        log.exception("request failed")
        return JSON(error_body(f"internal error: {type(e).__name__}: {e}", "see the server's log", 1), status_code=500)

    @app.get("/health", summary="Liveness")
    def health() -> dict[str, Any]:
        return {"status": "ok", "pid": os.getpid(), "version": __version__}

    @app.get("/v1/status", summary="Home, uptime, KBs being written, active jobs")
    def status() -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "home": str(state.home.root),
            "version": __version__,
            "started_at": state.started_at,
            "uptime_s": round(state.uptime_s, 1),
            "writing": state.gate.writing(),
            "jobs_active": [j.id for j in state.jobs.active()],
        }

    @app.get("/v1/kbs", summary="List KBs (mmroute kb list --json)")
    def kbs() -> dict[str, Any]:
        out = ops.kb_list(state.home)
        out["writing"] = state.home.writing()
        return out

    @app.get("/v1/kbs/{name}", summary="KB info (mmroute kb info NAME --json)")
    def kb_info(name: str) -> dict[str, Any]:
        validate_kb_name(name)
        with state.gate.read([name]):
            return ops.kb_info(state.home, name)

    @app.get("/v1/kbs/{name}/descriptor", summary="A KB's manifest descriptor")
    def kb_descriptor(name: str) -> dict[str, Any]:
        return ops.kb_descriptor(state.home, validate_kb_name(name))

    def refuse_if_read_only(what: str) -> None:
        if state.read_only:
            raise InputError(
                f"cannot {what}: the home {state.home.root} is read-only, and this server only reads it",
                hint="copy the home to a writable disk and serve that copy (searches and questions work here)",
            )

    @app.delete("/v1/kbs/{name}", summary="Delete a KB")
    def kb_delete(name: str) -> dict[str, Any]:
        validate_kb_name(name)
        refuse_if_read_only("delete a KB")
        ops.kb_descriptor(state.home, name)  # a missing KB: the CLI's not-found error, before any lock
        with state.gate.write([name], holder="a kb delete", wait=False):
            state.home.delete(name)
        return {"deleted": name}

    @app.post("/v1/kbs/{name}/index", status_code=202, summary="Queue an index job")
    def kb_index(name: str, body: IndexRequest) -> dict[str, Any]:
        validate_kb_name(name)
        refuse_if_read_only("index")
        if not Path(body.input).is_absolute():
            raise InputError(
                f"the server needs an absolute input path, not {body.input!r}",
                hint="the mmroute CLI sends absolute paths; resolve the path before sending it",
            )
        if not state.token and set((body.store or {}).get("options") or {}) & {"url", "api_key_env"}:
            raise ConfigError(  # the store would get the owner's key from the environment, at the request's URL
                "this server has no bearer token, so it does not index into a store at a URL or with a key a "
                "request names",
                hint="start the server with $MMROUTE_SERVE_TOKEN set and send the same token (the CLI reads it from "
                "the environment), or stop it (mmroute serve --stop) and index without it",
            )
        job, created = state.jobs.submit(name, body.model_dump())
        return {**job.to_dict(), "created": created}

    @app.get("/v1/jobs", summary="Index jobs")
    def jobs() -> dict[str, Any]:
        return {"jobs": [j.to_dict() for j in state.jobs.list()]}

    @app.get("/v1/jobs/{job_id}", summary="One index job: status, progress, reports or error")
    def job(job_id: str) -> dict[str, Any]:
        j = state.jobs.get(job_id)
        if j is None:
            raise JobNotFoundError(f"no index job {job_id!r} on this server", hint="GET /v1/jobs lists them")
        return j.to_dict()

    @app.post("/v1/search", summary="Search one KB (mmroute search --json)")
    def search(body: SearchRequest) -> dict[str, Any]:
        check_question(body.query, "query")
        with state.gate.read([body.kb]), image_file(body.image) as img:
            return ops.search(state.home, body.kb, body.query, body.k, img, body.mode)

    @app.post("/v1/route", summary="Route a question (mmroute route QUESTION --json)")
    def route(body: RouteRequest) -> dict[str, Any]:
        check_question(body.question)
        with image_file(body.image) as img:
            try:
                return ops.route(
                    state.home, body.question, lambda: state.router(body.router, body.router_path, body.threshold), img
                )
            except ModelUnavailableError as e:
                if body.router_path is None:
                    raise
                raise InputError(e.message, e.hint) from None  # the request's path holds no router: its error

    @app.post("/v1/ask", summary="Answer a question with the full trace (mmroute ask --json)")
    def ask(body: AskRequest) -> dict[str, Any]:
        from ..config import PipelineConfig

        check_question(body.question)
        cfg = PipelineConfig.from_dict(body.config) if body.config else PipelineConfig()
        named = list(cfg.kbs)
        with state.gate.read(named or state.home.names(), skip_writing=not named), image_file(body.image) as img:
            with keys_given(body.endpoint_api_keys):
                answer = ops.answer(state.home, cfg, body.question, img, lambda: state.pipeline(cfg))
        out = answer.to_dict()
        if body.step_hits:
            out["step_hits"] = ops.step_hits(answer.retrieval)
        return out

    @app.post("/v1/retrieve", summary="Retrieve evidence with every step's hits (LlamaIndex MMRouteRetriever.from_url)")
    def retrieve(body: RetrieveRequest) -> dict[str, Any]:
        check_question(body.query, "query")
        named = list(body.kbs or [])
        with state.gate.read(named or state.home.names(), skip_writing=not named), image_file(body.image) as img:
            res = state.retriever(body.retriever, body.router).retrieve(
                body.query, k=body.k, kbs=named or None, image=img
            )
        return {"result": res.to_dict(), "step_hits": ops.step_hits(res)}

    return guard(app, state)
