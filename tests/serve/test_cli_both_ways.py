"""The same CLI commands, run in-process and through a running `mmroute serve`, print the same bytes.

Every command runs as a real subprocess: first with no server (in-process, as before), then with a
real server owning the home. stdout, stderr and the exit code must be identical; only wall-clock
figures (timings, elapsed) are blanked before comparing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import FILMS, HASH, Server, mask_timings, mmroute, write_jsonl

BIRDS = [
    {"id": "b1", "title": "Owl", "text": "Owls are nocturnal birds of prey with large eyes."},
    {"id": "b2", "title": "Heron", "text": "Herons are long-legged wading birds that eat fish."},
]


@pytest.fixture(scope="module")
def served_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("both")
    home = root / "home"
    for kb, rows in (("films", FILMS), ("birds", BIRDS)):
        r = mmroute(
            "index",
            "--kb",
            kb,
            "--input",
            str(write_jsonl(root / f"{kb}.jsonl", rows)),
            "--home",
            str(home),
            *HASH,
            "--description",
            f"{kb} corpus",
        )
        assert r.returncode == 0, r.stderr
    return home


def _image(root: Path) -> Path:
    from PIL import Image

    path = root / "query.png"
    Image.new("RGB", (16, 16), (200, 30, 30)).save(path)
    return path


def _run_all(commands: list[list[str]], home: Path) -> list[tuple[int, str, str]]:
    out = []
    for c in commands:
        r = mmroute(*c, "--home", str(home))
        out.append((r.returncode, mask_timings(r.stdout), mask_timings(r.stderr)))
    return out


def test_reads_and_errors_are_identical_with_and_without_a_server(served_home: Path) -> None:
    root = served_home.parent
    img = str(_image(root))
    bad = root / "extra.jsonl"
    bad.write_text(write_jsonl(root / "tmp.jsonl", FILMS[:3]).read_text() + "{broken\n")
    commands = [
        ["search", "--kb", "films", "Christopher Nolan director", "--k", "3"],
        ["search", "--kb", "films", "Christopher Nolan director", "--k", "3", "--json"],
        ["kb", "list"],
        ["kb", "list", "--json"],
        ["kb", "info", "films"],
        ["kb", "info", "films", "--json"],
        ["search", "--kb", "missing", "x"],
        ["search", "--kb", "missing", "x", "--json"],
        ["search", "--kb", "films", "  "],
        ["search", "--kb", "films", "  ", "--json"],
        ["search", "--kb", "films", "--image", img],
        ["search", "--kb", "films", "--image", img, "--json"],
        ["search", "--kb", "../evil", "x"],
        ["kb", "info", "nope", "--json"],
        ["kb", "delete", "nope", "--yes"],
        # a write, its idempotent re-run (exit 1: the broken line is reported again), then a delete
        ["index", "--kb", "extra", "--input", str(bad), *HASH, "--json"],
        ["index", "--kb", "extra", "--input", str(bad), *HASH],
        ["index", "--kb", "extra", "--input", str(root / "nope.jsonl"), *HASH],
        ["index", "--kb", "extra", "--input", str(bad), "--granularity", "clip"],
        ["kb", "delete", "extra", "--yes"],
        ["kb", "list", "--json"],
    ]
    alone = _run_all(commands, served_home)
    with Server(served_home, "--lazy") as server:
        served = _run_all(commands, served_home)
        log = server.stderr()
    for c, a, s in zip(commands, alone, served):
        assert a == s, (c, a, s)
    assert [a[0] for a in alone] == [0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 2, 2, 0, 0]
    assert "index job" in log  # the writes really went through the server
    assert not (served_home / "serve.json").exists()  # removed on SIGTERM


def test_relative_paths_read_the_same_through_the_server(served_home: Path) -> None:
    """The server indexes the absolute path, but messages name the input as the caller typed it."""
    root = served_home.parent
    sub = root / "rel"
    sub.mkdir(exist_ok=True)
    (sub / "c.jsonl").write_text(write_jsonl(root / "tmp2.jsonl", BIRDS).read_text() + "{broken\n")
    commands = [
        ["index", "--kb", "rel", "--input", "rel/c.jsonl", *HASH],
        ["index", "--kb", "rel", "--input", "rel/none.jsonl"],
        ["kb", "delete", "rel", "--yes"],
    ]

    def run() -> list[tuple[int, str, str]]:
        return [
            (r.returncode, mask_timings(r.stdout), r.stderr)
            for r in (mmroute(*c, "--home", str(served_home), cwd=root) for c in commands)
        ]

    alone = run()
    with Server(served_home, "--lazy"):
        served = run()
    assert alone == served
    assert "rel/c.jsonl:3: malformed JSON" in alone[0][2] and "'rel/none.jsonl' does not exist" in alone[1][2]


def test_route_and_ask_are_identical_with_and_without_a_server(served_home: Path) -> None:
    """Real router (MiniLM) and the offline generator with the verifier: the full answer trace matches."""
    q = "Who directed the film Inception?"
    commands = [
        ["route", q],
        ["route", q, "--json"],
        ["route", "   "],
        ["ask", q, "--generator", "offline"],
        ["ask", q, "--generator", "offline", "--json"],
        ["ask", q, "--generator", "offline", "--kb", "films", "--stepwise", "--json"],
        ["ask", q, "--generator", "offline", "--kb", "nope", "--json"],
        ["ask", "  ", "--generator", "offline"],
    ]
    alone = _run_all(commands, served_home)
    with Server(served_home):
        served = _run_all(commands, served_home)
    for c, a, s in zip(commands, alone, served):
        assert a == s, (c, a, s)
    assert [a[0] for a in alone] == [0, 0, 2, 0, 0, 0, 2, 2]
    assert '"retrieval"' in alone[4][1] and '"verification"' in alone[4][1] and "f1" in alone[4][1]


def test_image_search_is_identical_with_and_without_a_server(tmp_path: Path, data_dir: Path) -> None:
    """A query image travels to the server in the request; the hits match the in-process search."""
    images = data_dir / "images/skimage/images"
    picked = tmp_path / "photos"
    picked.mkdir()
    for name in ("coffee.png", "astronaut.png", "chelsea.png", "rocket.jpg"):
        (picked / name).write_bytes((images / name).read_bytes())
    home = tmp_path / "home"
    r = mmroute("index", "--kb", "photos", "--input", str(picked), "--home", str(home))
    assert r.returncode == 0, r.stderr
    commands = [
        ["search", "--kb", "photos", "--image", str(images / "coffee.png"), "--k", "2", "--json"],
        ["search", "--kb", "photos", "--image", str(images / "coffee.png"), "--k", "2"],
        ["search", "--kb", "photos", "a cup of coffee", "--k", "2", "--json"],
    ]
    alone = _run_all(commands, home)
    with Server(home, "--lazy"):
        served = _run_all(commands, home)
    assert alone == served
    assert all(a[0] == 0 for a in alone), alone
    assert '"id": "coffee' in alone[0][1].split('"hits"')[1][:40], alone[0][1][:300]
