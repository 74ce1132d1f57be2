"""Atomic folder writes: staging folders of killed processes are removed by the next write to
the same target, and never those of a process still running."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from kg.files import remove_stale_staging, staged_dir, staging_prefix
from tests.conftest import ROOT

WRITER = textwrap.dedent("""
    import sys, time
    from kg.files import staged_dir
    with staged_dir(sys.argv[1]) as tmp:
        (tmp / "half-written.bin").write_bytes(b"x" * 100_000)
        print("staging", flush=True)
        time.sleep(120)
""")


def _writer(target):
    """A real process stopped inside ``staged_dir(target)``, its staging folder half written."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "staging"
    return proc


def _staging(target):
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(staging_prefix(target)))


def test_the_next_write_removes_what_a_killed_writer_left(tmp_path):
    target = tmp_path / "out"
    proc = _writer(target)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    left = _staging(target)
    assert len(left) == 2 and left[0] + ".lock" == left[1] and f"-{proc.pid}-" in left[0]
    with staged_dir(target) as tmp:
        (tmp / "a.txt").write_text("new", encoding="utf-8")
    assert _staging(target) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_live_writers_staging_folder_is_left_alone(tmp_path):
    target = tmp_path / "out"
    proc = _writer(target)
    try:
        live = _staging(target)
        assert remove_stale_staging(target) == []
        with staged_dir(target) as tmp:
            (tmp / "a.txt").write_text("mine", encoding="utf-8")
        assert _staging(target) == live
        assert (target.parent / live[0] / "half-written.bin").exists()
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert [p.name for p in remove_stale_staging(target)] == [live[0]]
    assert _staging(target) == [] and (target / "a.txt").read_text(encoding="utf-8") == "mine"


def test_other_targets_and_foreign_names_are_not_touched(tmp_path):
    (tmp_path / ".outer.staging-1-x").mkdir()     # another target's name that shares a prefix
    (tmp_path / ".out.backup").mkdir()            # a user's own folder
    with staged_dir(tmp_path / "out") as tmp:
        (tmp / "a.txt").write_text("new", encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.backup", ".outer.staging-1-x", "out"]
