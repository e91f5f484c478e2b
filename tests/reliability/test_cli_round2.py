"""Reliability, second round (issue 17), each at the CLI level: subprocesses, real files, real signals.

kb move through the CLI; secrets masked in every URL and server text shown; routed asks skip a KB a
writer process holds; a corrupt manifest or a leftover folder does not break the home; read-only
commands write nothing; loader and naming details (BOM, symlink loops, empty input, '-rf').
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .cli import TEXTS, assert_one_line_error, cli_env, index_args, mmroute, popen, tree_state, write_texts

ASK_FAST = ["--generator", "offline", "--no-verify"]


@pytest.fixture(scope="module")
def base_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """KBs ``notes`` (edge) and ``notes-faiss`` (faiss) over four short text files."""
    tmp = tmp_path_factory.mktemp("round2")
    src = write_texts(tmp / "src")
    home = tmp / "home"
    for kb, store in (("notes", "edge"), ("notes-faiss", "faiss")):
        res = mmroute(*index_args(kb, src, "--store", store), home=home)
        assert res.returncode == 0, res.stderr
    return home


@pytest.fixture
def home(base_home: Path, tmp_path: Path) -> Path:
    h = tmp_path / "home"
    shutil.copytree(base_home, h)
    return h


# ---------------------------------------------------------------------------------------- 1. kb move
@pytest.mark.parametrize("target", ["faiss", "edge", "qdrant"])
def test_kb_move_succeeds_through_the_cli(home: Path, target: str) -> None:
    res = mmroute("kb", "move", "notes", "--store", target, home=home)
    assert res.returncode == 0, res.stderr
    assert f"now on {target}" in res.stdout
    info = json.loads(mmroute("kb", "info", "notes", "--json", home=home).stdout)
    assert info["store"]["backend"] == target and info["count"] == 4
    hits = json.loads(mmroute("search", "--kb", "notes", TEXTS[2], "--json", home=home).stdout)["hits"]
    assert hits[0]["id"] == "doc2.txt#p0"


# ------------------------------------------------------------------------------------------ 2. secrets
class _Echo401(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        _Echo401.seen.append(self.path)
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps({"error": {"message": f"Incorrect API key provided: {self.headers.get('Authorization')}"}})
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo401)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Echo401.seen.clear()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_credentials_in_the_endpoint_url_are_never_printed(home: Path) -> None:
    url = "http://user:PASS123@127.0.0.1:9/v1?api_key=KEY456&x=1"
    for extra in ([], ["--json"]):
        res = mmroute(
            "ask",
            "--kb",
            "notes",
            "--generator",
            "openai",
            "--endpoint-url",
            url,
            "--endpoint-model",
            "m",
            "--no-verify",
            "Who directed Inception?",
            *extra,
            home=home,
        )
        out = res.stdout + res.stderr
        assert res.returncode == 2, out
        assert "PASS123" not in out and "KEY456" not in out and "user:" not in out, out
        assert "http://***@127.0.0.1:9/v1/chat/completions?api_key=***&x=1" in out, out


def test_a_server_echoing_the_key_does_not_get_it_printed(home: Path, echo_server: str) -> None:
    secret = "sk-test-Secret0123456789"
    res = mmroute(
        "ask",
        "--kb",
        "notes",
        "--generator",
        "openai",
        "--endpoint-url",
        f"http://{echo_server}/v1?tenant=a",
        "--endpoint-model",
        "m",
        "--no-verify",
        "Who directed Inception?",
        home=home,
        env=cli_env(OPENAI_API_KEY=secret),
    )
    assert res.returncode == 2
    assert secret not in res.stdout + res.stderr
    assert "Incorrect API key provided: Bearer ***" in res.stderr
    assert _Echo401.seen == ["/v1/chat/completions?tenant=a"]  # the path is joined before the query string


# ------------------------------------------------------------------------------------ 3. a busy KB
_HOLD_LOCK = """
import sys, time
from pathlib import Path
from mmroute.fsutil import WriterLock
with WriterLock(Path(sys.argv[1]), "notes-faiss"):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_a_routed_ask_skips_a_kb_a_writer_process_holds(home: Path) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(home / "kbs" / "notes-faiss")],
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=cli_env(),
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "locked"
        res = mmroute("ask", *ASK_FAST, "Who directed the film Inception?", home=home)
        blocked = mmroute("search", "--kb", "notes-faiss", "Inception", home=home)
    finally:
        writer.communicate("done\n", timeout=30)
    assert res.returncode == 0, res.stderr
    assert "skipped notes-faiss (being written)" in res.stdout
    assert f"is being written by process {writer.pid}" in blocked.stderr  # named KBs still say why


# ----------------------------------------------------------------------------- 4./5. broken KBs, leftovers
def test_a_truncated_manifest_hides_only_its_own_kb(home: Path) -> None:
    manifest = home / "kbs" / "notes-faiss" / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:120])
    listed = mmroute("kb", "list", home=home)
    assert listed.returncode == 0, listed.stderr
    assert "notes " in listed.stdout and "notes-faiss" not in listed.stdout
    assert "broken: KB 'notes-faiss': manifest.json is not valid JSON" in listed.stderr
    data = json.loads(mmroute("kb", "list", "--json", home=home).stdout)
    assert [k["name"] for k in data["kbs"]] == ["notes"] and data["broken"][0]["name"] == "notes-faiss"
    info = mmroute("kb", "info", "notes-faiss", home=home)
    assert_one_line_error(info)
    assert "manifest" in info.stderr and "mmroute kb delete notes-faiss" in info.stderr
    doctor = mmroute("kb", "doctor", home=home)
    assert doctor.returncode == 1 and "notes: ok (4 items)" in doctor.stdout
    assert "notes-faiss: broken" in doctor.stdout and "Traceback" not in doctor.stderr
    deleted = mmroute("kb", "delete", "notes-faiss", "--yes", home=home)
    assert deleted.returncode == 0, deleted.stderr
    assert not (home / "kbs" / "notes-faiss").exists()
    assert mmroute("kb", "doctor", home=home).returncode == 0


def test_leftovers_of_a_killed_copy_are_shown_and_deleted(home: Path) -> None:
    kbs = home / "kbs"
    shutil.copytree(kbs / "notes" / "store", kbs / ".half.copy" / "store")  # what a killed copy leaves
    shutil.copytree(kbs / "notes" / "store", kbs / "orphan" / "store")  # a store without a manifest (older copies)
    data = json.loads(mmroute("kb", "list", "--json", home=home).stdout)
    assert sorted(b["name"] for b in data["broken"]) == ["half", "orphan"]
    for name in ("half", "orphan"):
        res = mmroute("kb", "delete", name, "--yes", home=home)
        assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in kbs.iterdir()) == ["notes", "notes-faiss"]
    assert mmroute("kb", "copy", "notes", "half", "--store", "faiss", home=home).returncode == 0


def test_a_failed_copy_leaves_nothing_behind(home: Path) -> None:
    """A copy to a server that refuses the connection: one line, and no half-built KB for `kb list` to report."""
    res = mmroute(
        "kb", "copy", "notes", "notes-cluster", "--store", "qdrant",
        "--store-option", 'url="http://127.0.0.1:9"', home=home, timeout=120,
    )  # fmt: skip
    assert res.returncode != 0
    assert_one_line_error(res)
    assert sorted(p.name for p in (home / "kbs").iterdir()) == ["notes", "notes-faiss"]
    data = json.loads(mmroute("kb", "list", "--json", home=home).stdout)
    assert not data["broken"] and sorted(k["name"] for k in data["kbs"]) == ["notes", "notes-faiss"]
    assert mmroute("kb", "doctor", home=home).returncode == 0


def test_no_kb_is_indexed_copied_or_moved_into_an_in_memory_store(home: Path, tmp_path: Path) -> None:
    """An in-memory Qdrant keeps nothing after the command: `kb move` said "moved notes: 4 points now on qdrant"
    and left an empty KB (the old store deleted). Each is refused in one line, and nothing is lost."""
    memory = ["--store", "qdrant", "--store-option", 'location=":memory:"']
    before = tree_state(home)
    for args in (
        ["kb", "move", "notes", *memory],
        ["kb", "copy", "notes", "notes-mem", *memory],
        index_args("mem", write_texts(tmp_path / "src"), *memory),
    ):
        res = mmroute(*args, home=home)
        assert_one_line_error(res, what=" ".join(args))
        assert "in-memory" in res.stderr
    assert tree_state(home) == before
    info = json.loads(mmroute("kb", "info", "notes", "--json", home=home).stdout)
    assert info["count"] == 4 and info["store"]["backend"] == "edge"


def test_doctor_reports_a_store_holding_fewer_points_than_its_manifest_counts(home: Path) -> None:
    assert mmroute("kb", "doctor", "notes", home=home).returncode == 0  # the control: counts agree
    path = home / "kbs" / "notes" / "manifest.json"
    data = json.loads(path.read_text())
    data["kb"]["count"] = 458
    path.write_text(json.dumps(data))
    doctor = mmroute("kb", "doctor", "notes", home=home)
    assert doctor.returncode == 1
    assert "manifest counts 458 items but its store holds 4" in doctor.stdout
    assert "mmroute kb delete notes --yes" in doctor.stdout


# ------------------------------------------------------------------------------- 6. read-only commands
def _read_only_commands(home: Path) -> list[list[str]]:
    return [
        ["kb", "list"],
        ["kb", "info", "notes"],
        ["kb", "info", "notes-faiss"],
        ["search", "--kb", "notes", "apples"],
        ["search", "--kb", "notes-faiss", "apples"],
        ["ask", *ASK_FAST, "--kb", "notes", "--kb", "notes-faiss", "Where do apples grow?"],
    ]


def test_read_only_commands_write_nothing_in_a_read_only_home(home: Path) -> None:
    subprocess.run(["chmod", "-R", "a-w", str(home)], check=True)
    try:
        before = tree_state(home)
        for args in _read_only_commands(home):
            res = mmroute(*args, home=home)
            assert res.returncode == 0, f"{args}: {res.stderr}"
            assert "Traceback" not in res.stderr
            assert tree_state(home) == before, f"{args} wrote into the read-only home"
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(home)], check=True)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_read_only_commands_work_for_a_user_who_cannot_write(base_home: Path, tmp_path: Path) -> None:
    """The same commands as an unprivileged user (setpriv to nobody), for whom writes really fail."""
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="mmroute-ro-"))  # /tmp is traversable by nobody; pytest's tmp is not
    home = shared / "home"
    shutil.copytree(base_home, home)
    os.chmod(shared, 0o755)
    subprocess.run(["chmod", "-R", "a+rX,a-w", str(home)], check=True)
    try:
        before = tree_state(home)
        env = cli_env(HOME=str(shared))
        for args in _read_only_commands(home)[:5]:
            cmd = [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                sys.executable,
                "-m",
                "mmroute",
                *args,
                "--home",
                str(home),
            ]
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
            if res.returncode != 0 and "Permission denied" in res.stderr and "mmroute" not in res.stderr:
                pytest.skip(f"nobody cannot read this checkout or Python: {res.stderr[-300:]}")
            assert res.returncode == 0, f"{args}: {res.stderr}"
        assert tree_state(home) == before
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(home)], check=True)
        shutil.rmtree(shared, ignore_errors=True)


# ------------------------------------------------------------------------------------ 7. smaller items
def test_a_bom_does_not_drop_the_first_record(tmp_path: Path) -> None:
    src = tmp_path / "bom.jsonl"
    src.write_bytes(
        b"\xef\xbb\xbf" + b'{"id": "first", "text": "the first record"}\n{"id": "second", "text": "more"}\n'
    )
    res = mmroute(*index_args("bom", src, "--json"), home=tmp_path / "home")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["reports"][0]["count"] == 2


def test_looping_symlinks_are_reported_and_skipped_lines_go_to_stderr(tmp_path: Path) -> None:
    src = write_texts(tmp_path / "src", 2)
    (src / "loop-a.txt").symlink_to(src / "loop-b.txt")
    (src / "loop-b.txt").symlink_to(src / "loop-a.txt")
    (src / "bad.jsonl").write_text('{"id": "x", "text": "tab\there"}\n')  # not indexed: text files win
    res = mmroute(*index_args("links", src), home=tmp_path / "home")
    assert res.returncode == 1, res.stderr  # something was skipped
    assert "loop-a.txt: symbolic link loop" in res.stderr and "loop-b.txt: symbolic link loop" in res.stderr
    assert "skipped" not in res.stdout.replace(" skipped ->", "")  # the summary line only


def test_json_errors_do_not_double_at(tmp_path: Path) -> None:
    src = tmp_path / "c.jsonl"
    src.write_text('{"id": "a", "text": "ok"}\n{"id": "b", "text": "tab\there"}\n')
    res = mmroute(*index_args("c", src), home=tmp_path / "home")
    assert "Invalid control character at column" in res.stderr and " at at " not in res.stderr


def test_an_empty_input_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_text("")
    home = tmp_path / "home"
    res = mmroute(*index_args("empty", src), home=home)
    assert_one_line_error(res)
    assert "nothing indexed" in res.stderr and "was not created" in res.stderr
    assert not [p for p in (home / "kbs").iterdir()] if (home / "kbs").exists() else True


def test_a_kb_name_starting_with_a_dash_is_refused(tmp_path: Path) -> None:
    src = write_texts(tmp_path / "src", 1)
    res = mmroute(*index_args("-rf", src), home=tmp_path / "home")
    assert_one_line_error(res)
    assert "invalid KB name '-rf'" in res.stderr


def test_kb_info_after_a_killed_index_says_interrupted(tmp_path: Path) -> None:
    src = tmp_path / "big.jsonl"
    src.write_text(
        "".join(json.dumps({"id": f"r{i}", "text": f"record {i} topic {i % 7}"}) + "\n" for i in range(30000))
    )
    home = tmp_path / "home"
    proc = popen(*index_args("big", src), home=home)
    manifest = home / "kbs" / "big" / "manifest.json"
    deadline = time.monotonic() + 120
    while not (manifest.exists() and '"partial"' in manifest.read_text()):
        assert proc.poll() is None and time.monotonic() < deadline, "the index run ended before it could be killed"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    res = mmroute("kb", "info", "big", home=home)
    assert res.returncode == 0, res.stderr
    assert "[partial]" in res.stdout and "interrupted" in res.stdout and "(0 items" not in res.stdout
    doctor = mmroute("kb", "doctor", "big", home=home)
    assert doctor.returncode == 1 and "re-run the same `mmroute index` command" in doctor.stdout


def test_indexing_a_second_folder_with_the_same_file_name_keeps_the_first_photo(tmp_path: Path) -> None:
    """A new user's run: `index --kb photos --input ./photos` (a copy without the captions index) replaced all 21
    captioned photos, and re-running the original command said "21 already present". Now the other folder's photo
    is refused in one line naming both files, the first keeps its caption, and an edited sidecar is read again."""
    from PIL import Image

    home = tmp_path / "home"
    for name, color in (("setA", (200, 0, 0)), ("setB", (0, 0, 200))):
        (tmp_path / name).mkdir()
        Image.new("RGB", (32, 24), color).save(tmp_path / name / "img1.png")
    (tmp_path / "setA" / "img1.txt").write_text("a red square")
    first = mmroute(*index_args("pics", tmp_path / "setA"), home=home)
    assert first.returncode == 0 and "1 indexed" in first.stdout, first.stderr
    second = mmroute(*index_args("pics", tmp_path / "setB"), home=home)
    assert second.returncode == 1 and "Traceback" not in second.stderr
    assert f"already holds 'img1.png' from {tmp_path / 'setA' / 'img1.png'}" in second.stderr, second.stderr
    found = mmroute("search", "--kb", "pics", "square", "--json", home=home)
    assert [h["item"]["text"] for h in json.loads(found.stdout)["hits"]] == ["a red square"]
    (tmp_path / "setA" / "img1.txt").write_text("a crimson square")
    third = mmroute(*index_args("pics", tmp_path / "setA"), home=home)
    assert third.returncode == 0 and "1 indexed" in third.stdout, third.stdout
    found = mmroute("search", "--kb", "pics", "square", "--json", home=home)
    assert [h["item"]["text"] for h in json.loads(found.stdout)["hits"]] == ["a crimson square"]
