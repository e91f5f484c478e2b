import multiprocessing as mp
import os
from pathlib import Path

import pytest

from mmroute.errors import KBLockedError, StoreError
from mmroute.fsutil import WriterLock, atomic_write_json
from mmroute.manifest import Manifest, SourceRecord
from mmroute.types import EncoderSpec, Granularity, KBInfo, Modality, StoreSpec, point_id


def _hold_lock(directory: str, ready, release) -> None:  # child process
    with WriterLock(Path(directory), "kb"):
        ready.set()
        release.wait(10)


def test_writer_lock_names_the_holder_and_is_released_when_it_dies(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(str(tmp_path), ready, release))
    proc.start()
    assert ready.wait(10)
    with pytest.raises(KBLockedError, match=f"process {proc.pid}"):
        WriterLock(tmp_path, "kb").acquire()
    proc.kill()  # SIGKILL: the kernel must drop the flock
    proc.join()
    lock = WriterLock(tmp_path, "kb").acquire()
    lock.release()


def test_manifest_round_trip_and_newer_schema_refused(tmp_path: Path) -> None:
    info = KBInfo(
        name="kb",
        modality=Modality.TEXT,
        granularity=Granularity.PARAGRAPH,
        encoder=EncoderSpec("minilm", {"max_length": 256}),
        dim=384,
        store=StoreSpec("edge"),
    )
    m = Manifest(info=info)
    m.sources["/x"] = SourceRecord(path="/x", sha256="ab", status="done", items=3)
    m.save(tmp_path)
    back = Manifest.load(tmp_path)
    assert back.info == info and back.sources["/x"].items == 3
    d = m.to_dict()
    d["schema_version"] = 999
    atomic_write_json(tmp_path / "manifest.json", d)
    with pytest.raises(StoreError, match="newer"):
        Manifest.load(tmp_path)


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    for i in range(5):
        atomic_write_json(tmp_path / "f.json", {"i": i})
    assert sorted(os.listdir(tmp_path)) == ["f.json"]


def test_point_ids_are_deterministic_and_scoped_by_kb() -> None:
    assert point_id("a", "x") == point_id("a", "x")
    assert point_id("a", "x") != point_id("b", "x")
