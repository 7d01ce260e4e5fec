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


# --- a checkpoint folder always reads as one set --------------------------------------------

WRITE_SETS_FOREVER = """
import sys
from course_lib.fileset import write_set
print("ready", flush=True)
step = 0
while True:
    step += 1
    tag = str(step).encode()
    write_set(sys.argv[1], {"model.safetensors": tag * (1 << 20), "config.json": tag, "train_state.pt": tag * 1000},
              {"step": step}, replaces=("train_state.pt",))
"""


def read_set(folder):
    from course_lib.fileset import checked_path

    return {name: checked_path(folder, name).read_bytes() for name in ("model.safetensors", "config.json",
                                                                       "train_state.pt")}


def test_a_file_set_killed_at_any_moment_reads_as_one_set(tmp_path):
    import random

    from course_lib.fileset import write_set

    folder = tmp_path / "ck"
    rng = random.Random(0)
    steps = []
    for _ in range(8):
        p = python(WRITE_SETS_FOREVER, folder)
        assert p.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.4))
        p.send_signal(signal.SIGKILL)
        p.wait()
        files = read_set(folder)  # no error: the files match the manifest
        tag = files["config.json"]
        assert files["model.safetensors"] == tag * (1 << 20) and files["train_state.pt"] == tag * 1000
        steps.append(int(tag))
    assert len(set(steps)) > 1
    write_set(folder, {"model.safetensors": b"m", "config.json": b"c"}, {"step": 0}, replaces=("train_state.pt",))
    # The next write finished or dropped what the killed writers left: no .next/, no .tmp, no stale train state.
    assert sorted(f.name for f in folder.iterdir()) == ["config.json", "manifest.json", "model.safetensors"]


TINY_RUN = ["--tokenizer", "char", "--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "32",
            "--batch-size", "8", "--max-steps", "80", "--lr", "3e-3", "--warmup-steps", "5", "--eval-interval", "0",
            "--eval-batches", "2", "--ckpt-interval", "1", "--num-threads", "1", "--dropout", "0.1", "--no-progress"]


def train_cli(data, out, *extra):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    env.pop("WORLD_SIZE", None)
    return subprocess.Popen([sys.executable, "-m", "course_lib.train", "--data", str(data), *TINY_RUN,
                             "--out", str(out), *extra], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def assert_one_consistent_set(folder):
    """config.json, model.safetensors, train_state.pt and the manifest all name one step."""
    import torch
    from safetensors.torch import load as load_safetensors

    from course_lib.checkpoint import load_train_state, read_config
    from course_lib.fileset import checked_path, manifest_info

    _, meta = read_config(folder)
    state = load_train_state(folder / "train_state.pt")
    weights = load_safetensors(checked_path(folder, "model.safetensors").read_bytes())
    assert meta["step"] == state["step"] == manifest_info(folder)["step"]
    for name, tensor in weights.items():  # the weights are the train state's, of the same step
        assert torch.equal(tensor, state["model"][name]), name
    return state["step"]


def test_a_training_run_killed_while_saving_every_step_stays_consistent_and_resumes_exactly(tmp_path):
    import random

    from safetensors.torch import load_file

    data = tmp_path / "verse.txt"
    data.write_text("Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n" * 60,
                    encoding="utf-8")
    whole = train_cli(data, tmp_path / "whole")  # the uninterrupted run, alongside

    run = tmp_path / "killed"
    rng = random.Random(1)
    killed_at = []
    for kill in range(3):
        p = train_cli(data, run, *(["--resume"] if kill else []))
        deadline = time.time() + 60
        while not (run / "manifest.json").exists() and time.time() < deadline:  # a first checkpoint
            time.sleep(0.01)
        time.sleep(rng.uniform(0.02, 0.3))  # then a random moment: often in the middle of a save
        p.send_signal(signal.SIGKILL)
        p.communicate()
        assert p.returncode == -signal.SIGKILL, "the run ended before it could be killed"
        killed_at.append(assert_one_consistent_set(run))
    assert killed_at == sorted(killed_at) and killed_at[-1] < 80

    p = train_cli(data, run, "--resume")
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    out, err = whole.communicate(timeout=300)
    assert whole.returncode == 0, err
    assert assert_one_consistent_set(run) == 80
    a, b = load_file(str(tmp_path / "whole" / "model.safetensors")), load_file(str(run / "model.safetensors"))
    assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a)  # bit-identical to the uninterrupted run
    left = [f.name for f in run.iterdir() if f.name.endswith(".tmp") or f.name.startswith(".")]
    assert left == []  # no temporary file, no half-written set


def test_an_interrupted_set_is_finished_or_dropped_and_reads_whole_meanwhile(tmp_path, tiny_model, char_tokenizer):
    """The two moments a kill can leave: files staged without their manifest (the old set
    stands), or staged with it and half moved (the new set is read, the next save finishes it)."""
    import shutil

    from course_lib.checkpoint import load_checkpoint, save_checkpoint
    from course_lib.fileset import STAGING

    folder = tmp_path / "ck"
    save_checkpoint(folder, tiny_model, char_tokenizer, meta={"step": 1})
    save_checkpoint(tmp_path / "new", tiny_model, char_tokenizer, meta={"step": 2})
    staged = folder / STAGING
    staged.mkdir()
    for name in ("model.safetensors", "tokenizer.json"):  # killed before the manifest: not a set yet
        shutil.copy(tmp_path / "new" / name, staged / name)
    assert load_checkpoint(folder)[2]["step"] == 1
    for name in ("config.json", "manifest.json"):  # the manifest is there: the new set, half moved
        shutil.copy(tmp_path / "new" / name, staged / name)
    os.replace(staged / "model.safetensors", folder / "model.safetensors")
    assert load_checkpoint(folder)[2]["step"] == 2
    save_checkpoint(folder, tiny_model, char_tokenizer, meta={"step": 3})
    assert load_checkpoint(folder)[2]["step"] == 3 and not staged.exists()


def test_a_killed_run_started_again_cleans_up_before_its_first_step(tmp_path):
    from course_lib.checkpoint import check_output_folder

    run = tmp_path / "run"
    p = python(WRITE_FOREVER, run / "model.safetensors")
    assert p.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    p.send_signal(signal.SIGKILL)
    p.wait()
    check_output_folder(run, overwrite=True)  # what a Trainer does before anything trains
    assert [f.name for f in run.iterdir() if f.name.endswith(".tmp")] == []
