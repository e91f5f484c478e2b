"""A package outside mmroute plugs in a generator, a verifier, a router, an encoder and a store through entry
points, and each is usable by name from the CLI, a config file and ``mmroute serve``, with nothing in
mmroute naming them. The package is built here as an installed distribution (its module plus a
``.dist-info`` whose ``entry_points.txt`` comes from the package's own ``pyproject.toml``) and put on
``PYTHONPATH`` of real ``python -m mmroute`` subprocesses: no network, no model loads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PYPROJECT = """\
[project]
name = "mmroute-plugin-demo"
version = "0.1"
dependencies = ["mmroute"]

[project.entry-points."mmroute.generators"]
demo-gen = "mmroute_plugin_demo:DemoGenerator"
broken-gen = "mmroute_plugin_demo.missing:Nope"

[project.entry-points."mmroute.verifiers"]
demo-verifier = "mmroute_plugin_demo:DemoVerifier"

[project.entry-points."mmroute.routers"]
demo-router = "mmroute_plugin_demo:DemoRouter"

[project.entry-points."mmroute.encoders"]
demo-hash = "mmroute_plugin_demo:DemoEncoder"

[project.entry-points."mmroute.stores"]
demo-store = "mmroute_plugin_demo:DemoStore"
"""

MODULE = '''
"""mmroute-plugin-demo: one of each role, none loading a model."""
import os

from mmroute.encoders.hashing import HashingTextEncoder
from mmroute.stores.edge import EdgeStore
from mmroute.types import Draft, EncoderSpec, RouteDecision, RouteScore, Verdict, Verification


class DemoGenerator:
    """Answers with a fixed phrase naming its first piece of evidence (and the process that answered)."""

    name = "demo-gen"

    def __init__(self, prefix="DEMO"):
        self.prefix = prefix

    def warm_up(self):
        pass

    def generate(self, question, hits, image=None):
        if not hits:
            return Draft(None, generator=self.name)
        top = hits[0].item
        text = f"{self.prefix} answer from {top.id} by pid {os.getpid()}"
        return Draft(text, (top.id,), support=top.text, score=1.0, generator=self.name)

    def closed_book(self, question, hits, image=None):
        return None


class DemoVerifier:
    name = "demo-verifier"
    uses_dual_path = False

    def warm_up(self):
        pass

    def verify(self, question, draft, hits, alt=None):
        return Verification(Verdict.SUPPORTED, 1.0, ("the demo verifier supports everything",))


class DemoRouter:
    """Routes every question to every KB."""

    name = "demo-router"

    def warm_up(self):
        pass

    def route(self, query, kbs, image=None):
        names = tuple(k.name for k in kbs)
        return RouteDecision(
            query, (RouteScore("paragraph", 1.0, names),), ("paragraph",), names, "demo: every KB", self.name, 0.0
        )


class DemoEncoder(HashingTextEncoder):
    @property
    def spec(self):
        return EncoderSpec("demo-hash", {"dim": self.dim})


class DemoStore(EdgeStore):
    backend = "demo-store"
'''

CORPUS = [
    {
        "id": "f1",
        "title": "Inception",
        "text": "Inception is a 2010 science fiction film directed by Christopher Nolan.",
    },
    {"id": "f2", "title": "Titanic", "text": "Titanic is a 1997 film directed by James Cameron about the ship."},
    {"id": "f3", "title": "Normandy", "text": "Normandy is a region in the north of France, named after the Normans."},
]
QUESTION = "Who directed the film Inception?"


def install(pyproject: str, module: str, site: Path) -> None:
    """What ``pip install --target site`` leaves for the package: its module and a ``.dist-info`` whose
    ``entry_points.txt`` holds the ``[project.entry-points]`` tables of its ``pyproject.toml``."""
    project = tomllib.loads(pyproject)["project"]
    pkg = site / "mmroute_plugin_demo"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(module))
    dist = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    groups = project["entry-points"]
    (dist / "entry_points.txt").write_text(
        "".join(f"[{g}]\n" + "".join(f"{n} = {t}\n" for n, t in eps.items()) + "\n" for g, eps in groups.items())
    )


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("plugin")
    site = root / "site"
    install(PYPROJECT, MODULE, site)
    corpus = root / "films.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in CORPUS))
    return {"root": root, "site": site, "home": root / "home", "corpus": corpus}


def env(plugin: dict[str, Path], served: bool = False) -> dict[str, str]:
    drop = ("MMROUTE_HOME", "MMROUTE_DEBUG", "MMROUTE_SERVE_TOKEN", "MMROUTE_NO_SERVER", "PYTHONPATH")
    e = {k: v for k, v in os.environ.items() if k not in drop}
    e.update(
        PYTHONPATH=os.pathsep.join([str(plugin["site"]), str(ROOT)]),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    if not served:
        e["MMROUTE_NO_SERVER"] = "1"
    return e


def mmroute(plugin: dict[str, Path], *args: str, served: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmroute", *args, "--home", str(plugin["home"])],
        capture_output=True,
        text=True,
        env=env(plugin, served),
        timeout=300,
    )


@pytest.fixture(scope="module")
def indexed(plugin: dict[str, Path]) -> dict[str, Path]:
    """The corpus indexed with the plugin's encoder into the plugin's store."""
    r = mmroute(
        plugin,
        "index",
        "--kb",
        "films",
        "--input",
        str(plugin["corpus"]),
        "--granularity",
        "paragraph",
        "--encoder",
        "demo-hash",
        "--encoder-option",
        "dim=256",
        "--store",
        "demo-store",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["reports"][0]["count"] == len(CORPUS)
    return plugin


def test_the_plugin_encoder_and_store_index_and_search(indexed: dict[str, Path]) -> None:
    r = mmroute(indexed, "kb", "list", "--json")
    assert r.returncode == 0, r.stderr
    (info,) = json.loads(r.stdout)["kbs"]
    assert info["encoder"]["name"] == "demo-hash" and info["store"]["backend"] == "demo-store"
    r = mmroute(indexed, "search", "--kb", "films", QUESTION, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["hits"][0]["id"] == "f1"  # reopened by name: the plugin's encoder and store


def test_ask_with_plugin_flags_and_with_a_config_file(indexed: dict[str, Path]) -> None:
    flags = ["--generator", "demo-gen", "--verifier", "demo-verifier", "--router", "demo-router"]
    r = mmroute(indexed, "ask", QUESTION, *flags, "--json")
    assert r.returncode == 0, r.stderr
    ans = json.loads(r.stdout)
    assert ans["answer"].startswith("DEMO answer from f1") and not ans["abstained"]
    assert ans["route"]["router"] == "demo-router" and ans["route"]["kbs"] == ["films"]
    assert ans["verification"]["reasons"] == ["the demo verifier supports everything"]

    cfg = indexed["root"] / "mmroute.toml"
    cfg.write_text(
        'generator = "demo-gen"\nverifier = "demo-verifier"\nrouter = "demo-router"\n'
        '[generator_options]\nprefix = "CONFIGURED"\n'
    )
    r = mmroute(indexed, "ask", QUESTION, "--config", str(cfg), "--json")
    assert r.returncode == 0, r.stderr
    ans = json.loads(r.stdout)
    assert ans["answer"].startswith("CONFIGURED answer from f1") and ans["route"]["router"] == "demo-router"

    r = mmroute(indexed, "route", QUESTION, "--router", "demo-router", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["kbs"] == ["films"]


def test_wrong_and_broken_plugin_names_are_one_line_errors(indexed: dict[str, Path]) -> None:
    r = mmroute(indexed, "ask", QUESTION, "--generator", "no-such-gen", "--kb", "films")
    assert r.returncode == 2 and "'no-such-gen' is not one of" in r.stderr and "'demo-gen'" in r.stderr, r.stderr
    r = mmroute(indexed, "ask", QUESTION, "--generator", "broken-gen", "--router", "demo-router", "--no-verify")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert (
        "generator 'broken-gen' (package mmroute-plugin-demo, entry point mmroute_plugin_demo.missing:Nope)"
        in (r.stderr.splitlines()[0])
    )


def test_mmroute_serve_answers_with_the_plugins(indexed: dict[str, Path]) -> None:
    """The server process finds the plugins too: the KB opens with the plugin's encoder and store, and an ask
    naming the plugin generator, verifier and router (sent as the config of the request) is answered by it."""
    home = indexed["home"]
    log = indexed["root"] / "serve.err"
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mmroute", "serve", "--home", str(home), "--port", "0", "--lazy"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env(indexed, served=True),
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                try:
                    if json.loads((home / "serve.json").read_text())["pid"] == proc.pid:
                        break
                except (OSError, ValueError, KeyError):
                    pass
                time.sleep(0.1)
            cfg = indexed["root"] / "served.toml"
            cfg.write_text('generator = "demo-gen"\nverifier = "demo-verifier"\nrouter = "demo-router"\n')
            r = mmroute(indexed, "ask", QUESTION, "--config", str(cfg), "--json", served=True)
            assert r.returncode == 0, r.stderr
            ans = json.loads(r.stdout)
            assert ans["answer"] == f"DEMO answer from f1 by pid {proc.pid}"  # answered inside the server
            assert ans["verification"]["reasons"] == ["the demo verifier supports everything"]
            r = mmroute(indexed, "route", QUESTION, "--router", "demo-router", "--json", served=True)
            assert r.returncode == 0, r.stderr
            assert json.loads(r.stdout)["router"] == "demo-router"
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


# ------------------------------------------------------------------------------ in process, added at run time
@pytest.fixture
def added() -> object:
    """A generator, a verifier and a router added at run time (removed again afterwards)."""
    from mmroute.generation.base import GENERATORS
    from mmroute.routing.base import ROUTERS
    from mmroute.verification.base import VERIFIERS

    ns: dict[str, object] = {}
    exec(textwrap.dedent(MODULE), ns)  # noqa: S102 - the plugin's own module, as the entry points load it
    added = [(GENERATORS, "t-gen", ns["DemoGenerator"]), (VERIFIERS, "t-ver", ns["DemoVerifier"])]
    added.append((ROUTERS, "t-router", ns["DemoRouter"]))
    for reg, name, factory in added:
        reg.add(name, factory)  # type: ignore[arg-type]
    yield ns
    for reg, name, _ in added:
        reg._added.pop(name, None)
        reg._loaded.pop(name, None)


def test_names_added_at_run_time_are_valid_everywhere(added: object, tmp_path: Path) -> None:
    from mmroute.app.support import AskSettings, GeneratorSettings, generator_kinds, pipeline_config
    from mmroute.config import PipelineConfig
    from mmroute.errors import ConfigError
    from mmroute.pipeline import Pipeline

    cfg = PipelineConfig(generator="t-gen", verifier="t-ver", router="t-router", kbs=[], retriever="stepwise")
    assert PipelineConfig.from_dict(cfg.to_dict()) == cfg
    pipe = Pipeline.from_home(tmp_path / "home", cfg)
    assert pipe.generator.name == "demo-gen" and pipe.verifier is not None and pipe.verifier.name == "demo-verifier"
    assert pipe.retriever.router.name == "demo-router"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="unknown generator 'nope'"):
        PipelineConfig(generator="nope")
    with pytest.raises(ConfigError, match="unknown router 'nope'"):
        PipelineConfig(router="nope")
    with pytest.raises(ConfigError, match="unknown verifier 'nope'"):
        Pipeline.from_home(tmp_path / "home", PipelineConfig(verifier="nope", kbs=["x"]))
    assert "t-gen" in generator_kinds() and "local" in generator_kinds() and "smollm2" not in generator_kinds()
    app_cfg = pipeline_config(GeneratorSettings(kind="t-gen"), AskSettings(router="t-router", verifier="t-ver"))
    assert (app_cfg.generator, app_cfg.router, app_cfg.verifier) == ("t-gen", "t-router", "t-ver")


def test_one_router_factory() -> None:
    from mmroute import ops
    from mmroute.errors import ConfigError
    from mmroute.routing import FederatedRouter, create_router

    fed = create_router("federated", threshold=0.3)
    assert isinstance(fed, FederatedRouter) and fed.threshold == 0.3
    assert isinstance(ops.make_router("federated", None), FederatedRouter)
    with pytest.raises(ConfigError, match="takes no path"):
        create_router("description", path="/some/router")
