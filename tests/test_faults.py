"""Fault injection: concurrent writers and runs killed halfway lose nothing and leave nothing.

Each test starts real processes (as class mode does: one kernel per browser tab) and, where
it says so, kills them with SIGKILL, the way a learner's laptop or a closed tab ends them.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_lib.fileio import append_line_atomic, atomic_write_bytes, remove_stale_temps

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses fork, SIGKILL and flock")


def python(code: str, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_repeatedly(code: str, path, times: int = 3, after: float = 0.3):
    """Start `code` (which prints "ready" once set up) `times` times and SIGKILL it `after` s later."""
    for _ in range(times):
        p = python(code, path)
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
        time.sleep(after)
        p.send_signal(signal.SIGKILL)
        p.wait()


SAVE_LABELS = """
import sys
from course_lib import rlhf
path, writer, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
for i in range(n):
    rlhf.save_preference(rlhf.make_preference(f"prompt {writer}-{i}", "a good answer " * 5, "a bad one"), path)
"""


def test_four_processes_saving_labels_at_once_lose_none(tmp_path):
    path = tmp_path / "my_labels.jsonl"
    writers = [python(SAVE_LABELS, path, w, 500) for w in range(4)]
    for p in writers:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    lines = path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]  # every line is whole, valid JSON
    assert len(records) == 2000
    assert {r["prompt"] for r in records} == {f"prompt {w}-{i}" for w in range(4) for i in range(500)}


APPEND_FOREVER = """
import sys
from course_lib.fileio import append_line_atomic
print("ready", flush=True)
i = 0
while True:
    append_line_atomic(sys.argv[1], '{"n": %d, "pad": "%s"}' % (i, "x" * 3000))
    i += 1
"""


def test_a_writer_killed_mid_append_leaves_no_torn_line(tmp_path):
    path = tmp_path / "labels.jsonl"
    kill_repeatedly(APPEND_FOREVER, path, after=0.4)
    append_line_atomic(path, '{"n": "after"}')
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""  # the file ends with a newline
    records = [json.loads(line) for line in lines[:-1]]
    assert len(records) > 3 and records[-1] == {"n": "after"}


def test_append_starts_a_new_line_after_a_torn_one(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_bytes(b'{"n": 1}\n{"n": 2, "tor')  # what a writer without our append could leave
    append_line_atomic(path, '{"n": 3}')
    assert path.read_bytes().endswith(b'\n{"n": 3}\n')
    with pytest.raises(ValueError):
        append_line_atomic(path, "two\nlines")


WRITE_FOREVER = """
import sys
from course_lib.fileio import atomic_write_bytes
data = b"w" * (8 << 20)
print("ready", flush=True)
while True:
    atomic_write_bytes(sys.argv[1], data)
"""


def test_temporary_files_of_killed_writers_are_cleaned_up(tmp_path):
    target = tmp_path / "model.safetensors"
    kill_repeatedly(WRITE_FOREVER, target)
    atomic_write_bytes(target, b"new")  # the next write removes what killed writers left
    assert sorted(f.name for f in tmp_path.iterdir()) == ["model.safetensors"]
    assert target.read_bytes() == b"new"


def test_a_running_writers_temporary_file_is_kept(tmp_path):
    mine = tmp_path / f".x.bin.{os.getpid()}.abc.tmp"
    mine.write_bytes(b"in progress")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".x.bin.{int(dead.stdout)}.abc.tmp"
    stale.write_bytes(b"left behind")
    assert remove_stale_temps(tmp_path) == [stale]
    assert mine.exists()
