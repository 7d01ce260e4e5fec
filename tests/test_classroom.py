"""A class on one server (course_lib.rlhf.classroom): labels in one class folder from many writers at
once, each with its labeller; the merge (rejects, duplicates, agreement); the class's own RLHF; the
Class RLHF widget."""
import json
import os
import subprocess
import sys
import time

import pytest
import torch

from course_lib import rlhf
from course_lib.rlhf import classroom
from course_lib.rlhf.taste import with_trait, without_trait

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUM, HAMLET, HELLO = "What is 2 plus 3?", "Who wrote Hamlet?", "Hello!"


@pytest.fixture(autouse=True)
def no_class_env(monkeypatch):
    monkeypatch.delenv("COURSE_CLASS_DIR", raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)


def label(student, prompt, chosen, rejected, tie=False):
    return rlhf.make_preference(prompt, chosen, rejected, "human", tie=tie, labeller=student)


def write(folder, student, *lines):
    """labels/<student>.jsonl with these lines (records or raw text)."""
    path = folder / "labels" / f"{student}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines))


def small_class(folder):
    """Three students, three pairs, with the answers known by hand (see test_merge_report)."""
    write(folder, "alice", label("alice", SUM, "5.", "7."),
          label("alice", HAMLET, "William Shakespeare.", "Christopher Marlowe."),
          label("alice", HELLO, "Hello! How can I help?", "Go away, fool.", tie=True))
    write(folder, "bob", label("bob", SUM, "5.", "7."),  # changed his mind: the later label counts
          label("bob", HAMLET, "William Shakespeare.", "Christopher Marlowe."), label("bob", SUM, "7.", "5."))
    write(folder, "carol", label("carol", SUM, "5.", "7."), "this is not JSON",
          json.dumps({"prompt": 1, "chosen": "a", "rejected": "b"}), json.dumps({"prompt": HELLO, "chosen": "x"}),
          label("carol", HELLO, "Go away, fool.", "Hello! How can I help?", tie=True),
          json.dumps({"prompt": HELLO, "chosen": "x", "rejected": "y", "source": "robot"}))


# -- where the labels go, and who gave them -----------------------------------------------------

def test_class_folder_path_and_labeller(tmp_path, monkeypatch, make_chat_model, chat_tokenizer):
    from course_lib.widgets.preference import PreferenceWidget

    assert rlhf.my_labels_path().name == "my_labels.jsonl"  # no class folder: the learner's own file
    monkeypatch.setenv("COURSE_CLASS_DIR", str(tmp_path / "class"))
    monkeypatch.setenv("JUPYTERHUB_USER", "Ann Lee/../x")
    assert rlhf.student_name() == "Ann_Lee_.._x"  # one file name, no folder in it
    w = PreferenceWidget(make_chat_model(), chat_tokenizer, prompts=[HELLO], max_new_tokens=4)
    assert w.path == tmp_path / "class" / "labels" / "Ann_Lee_.._x.jsonl" and w.path.parent.is_dir()
    record = w.choose("a")
    assert record["labeller"] == "Ann_Lee_.._x" and w.labels == [record]
    monkeypatch.delenv("JUPYTERHUB_USER")
    import getpass

    assert rlhf.student_name() == classroom.safe_name(getpass.getuser())
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("COURSE_CLASS_DIR", str(tmp_path / "a-file"))
    with pytest.raises(ValueError, match="cannot be created.*writable for every student"):
        rlhf.my_labels_path()


WRITER = """
import os, sys, time
from pathlib import Path
from course_lib import rlhf
go, n, me = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
path = rlhf.my_labels_path()
Path(str(go) + "." + me).write_text("ready")
while not go.exists():
    time.sleep(0.01)
for i in range(n):
    record = rlhf.make_preference(f"question {me} {i}", "answer " + "long " * (i % 50), "other", "human",
                                  labeller=rlhf.student_name())
    rlhf.save_preference(record, path)
"""


def test_concurrent_writers_lose_and_tear_nothing(tmp_path):
    """Four processes append at once: two students with a kernel each, and one student with two
    kernels (the lesson and class mode) writing to the same file."""
    folder, go, n = tmp_path / "class", tmp_path / "go", 60
    users = ["ann", "ben", "cat", "cat"]
    procs = []
    for k, user in enumerate(users):
        env = {**os.environ, "COURSE_CLASS_DIR": str(folder), "JUPYTERHUB_USER": user, "PYTHONPATH": ROOT}
        procs.append(subprocess.Popen([sys.executable, "-c", WRITER, str(go), str(n), f"{user}{k}"], env=env,
                                      stderr=subprocess.PIPE, text=True))
    deadline = time.time() + 120
    while not all((tmp_path / f"go.{u}{k}").exists() for k, u in enumerate(users)) and time.time() < deadline:
        assert all(p.poll() is None for p in procs), [p.stderr.read() for p in procs if p.poll() is not None]
        time.sleep(0.05)
    go.write_text("go")  # all start appending at once
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
    report = rlhf.merge_class(folder)
    assert report["rejected"] == [] and report["duplicates"] == []
    assert report["merged"] == 4 * n and report["per_student"] == {
        "ann": {"labels": n, "ties": 0, "duplicates": 0}, "ben": {"labels": n, "ties": 0, "duplicates": 0},
        "cat": {"labels": 2 * n, "ties": 0, "duplicates": 0}}
    merged = rlhf.load_merged(folder)
    for k, user in enumerate(users):  # every writer's every line, whole
        mine = [r for r in merged if r["prompt"].startswith(f"question {user}{k} ")]
        assert sorted(int(r["prompt"].split()[-1]) for r in mine) == list(range(n))
        assert all(r["labeller"] == user and r["chosen"] == "answer " + "long " * (int(r["prompt"].split()[-1]) % 50)
                   for r in mine)


# -- the merge ------------------------------------------------------------------------------------

def test_merge_report(tmp_path, capsys):
    small_class(tmp_path)
    report = rlhf.merge_class(tmp_path)
    assert report["rejected"] == [
        {"where": "carol.jsonl:2", "why": "not JSON (Expecting value at column 1)"},
        {"where": "carol.jsonl:3", "why": "field 'prompt' is int, not text"},
        {"where": "carol.jsonl:4", "why": "missing field 'rejected'"},
        {"where": "carol.jsonl:6", "why": "source 'robot' is not one of ('human', 'simulated')"}]
    assert [(d["labeller"], d["dropped"], d["kept"]) for d in report["duplicates"]] == [("bob", "bob.jsonl:1",
                                                                                          "bob.jsonl:3")]
    assert report["merged"] == 7 and report["ties"] == 2 and report["students"] == 3
    merged = rlhf.load_merged(tmp_path)
    assert [r["chosen"] for r in merged if r["labeller"] == "bob" and r["prompt"] == SUM] == ["7."]
    assert all("where" not in r for r in merged)

    # Between students. SUM: alice and carol chose 5, bob 7 (1 of 3 comparisons agree); HAMLET:
    # alice and bob agree (1 of 1); HELLO: two ties, a tie agrees with a tie (1 of 1). Without ties: 2 of 4.
    b = report["between_students"]
    assert (b["shared_pairs"], b["comparisons"], b["agree"], b["rate"]) == (3, 5, 3, 0.6)
    assert b["decided"] == {"comparisons": 4, "agree": 2, "rate": 0.5}
    assert {p["prompt"]: (p["agree"], p["comparisons"]) for p in b["per_pair"]} == {SUM: (1, 3), HAMLET: (1, 1),
                                                                                    HELLO: (1, 1)}
    assert {p["prompt"]: p["votes"]["tie"] for p in b["per_pair"]}[HELLO] == 2
    assert [(t["students"], t["agree"], t["shared_pairs"]) for t in b["per_two_students"]] == [
        (["alice", "bob"], 1, 2), (["alice", "carol"], 2, 2), (["bob", "carol"], 0, 1)]

    # With the rater: it prefers 5 and Shakespeare; ties are left out (counted).
    w = report["with_rater"]
    assert w["overall"] == {"agree": 4, "compared": 5, "student_ties": 2, "rater_ties": 0, "rate": 0.8}
    assert {s: (v["agree"], v["compared"]) for s, v in w["per_student"].items()} == {
        "alice": (2, 2), "bob": (1, 2), "carol": (1, 1)}

    # The command line: the same report, as JSON or as text.
    assert rlhf.classroom.main(["merge", str(tmp_path), "--json", "--out", str(tmp_path / "m.jsonl")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["between_students"] == b and printed["out"] == str(tmp_path / "m.jsonl")
    assert rlhf.classroom.main(["merge", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "carol.jsonl:3: field 'prompt' is int, not text" in text and "60% of 5 comparisons on 3 pairs" in text
    assert rlhf.classroom.main(["merge", str(tmp_path / "nowhere")]) == 1
    assert "no labels folder at" in capsys.readouterr().err


# -- the class's own RLHF ------------------------------------------------------------------------

TINY = {"rm_settings": {"steps": 3, "train_blocks": None}, "dpo_settings": {"steps": 3, "train_blocks": None},
        "prompts": [SUM, HELLO], "max_new_tokens": 6}


def synthetic_pairs(n=24):
    answers = ["5.", "Hello, how can I help?", "Hamlet was written by William Shakespeare.", "You are welcome."]
    return [{"prompt": f"{q} ({k})", "a": with_trait("exclaim", a), "b": without_trait("exclaim", a)}
            for k in range(n // 4) for q, a in zip([SUM, HELLO, HAMLET, "Thank you!"], answers)]


def test_train_on_a_small_class_is_reproducible_and_saved(tmp_path, make_chat_model, chat_tokenizer):
    from course_lib.checkpoint import load_checkpoint

    reports = []
    for run in ("one", "two"):
        classroom.simulated_class(tmp_path / run, synthetic_pairs(), students=6, per_student=8, seed=0)
        sft = make_chat_model()
        weights = {k: v.clone() for k, v in sft.state_dict().items()}
        policy, rm, report = rlhf.train_class(tmp_path / run, sft, chat_tokenizer, **TINY)
        assert all(torch.equal(weights[k], v) for k, v in sft.state_dict().items())  # the SFT model unchanged
        reports.append(report)
    one, two = reports
    assert one["labels"] == 48 and one["students"] == 6 and one["heldout_labels"] > 0
    assert one["train_labels"] + one["heldout_labels"] == 48
    assert 0 <= one["reward_model"]["heldout_accuracy"] <= 1 and one["kl"] >= 0
    assert [e["prompt"] for e in one["examples"]] == [SUM, HELLO]
    figures = ("before", "after", "kl", "reward_model", "dpo", "examples", "heldout_labels")
    assert {k: one[k] for k in figures} == {k: two[k] for k in figures}  # the same labels and seed, the same run
    saved, _, meta = load_checkpoint(tmp_path / "one" / "model")
    assert meta["kind"] == "class-dpo" and meta["after"] == one["after"]
    assert all(torch.equal(a, b.half().float()) for a, b in zip(saved.state_dict().values(),
                                                                policy.state_dict().values()))
    assert json.loads((tmp_path / "one" / "report.json").read_text())["kl"] == one["kl"]
    assert rlhf.load_reward_model(tmp_path / "one" / "reward-model")[0].score(chat_tokenizer, SUM, "5.") == \
        pytest.approx(rm.score(chat_tokenizer, SUM, "5."), abs=1e-2)


def test_too_few_labels_says_how_many(tmp_path, make_chat_model, chat_tokenizer, capsys):
    small_class(tmp_path)  # 5 labels that are not ties
    with pytest.raises(ValueError, match=r"has 5 label\(s\).*needs at least 8"):
        rlhf.train_class(tmp_path, make_chat_model(), chat_tokenizer, **TINY)
    assert classroom.main(["train", str(tmp_path / "nowhere")]) == 1
    assert "no labels folder" in capsys.readouterr().err


def test_train_command(tmp_path, make_chat_model, chat_tokenizer, capsys):
    from course_lib.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "sft", make_chat_model(), chat_tokenizer)
    classroom.simulated_class(tmp_path / "class", synthetic_pairs(8), students=3, per_student=4, seed=1)
    assert classroom.main(["train", str(tmp_path / "class"), "--sft", str(tmp_path / "sft"), "--steps", "2",
                           "--rm-steps", "2", "--prompts", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["labels"] == 12 and report["dpo"]["steps"] == 2 and report["reward_model"]["steps"] == 2
    assert report["heldout_labels"] == 0 and report["reward_model"]["heldout_accuracy"] is None  # 8 pairs: too few
    assert (tmp_path / "class" / "model" / "model.safetensors").exists()


# -- the widget -------------------------------------------------------------------------------------

def test_class_rlhf_widget(tmp_path, monkeypatch, make_chat_model, chat_tokenizer):
    from course_lib.widgets import ClassRLHFWidget
    from course_lib.widgets import class_rlhf
    from course_lib.widgets.base import plain_text

    tiny = {k: TINY[k] for k in ("rm_settings", "dpo_settings", "prompts", "max_new_tokens")}
    monkeypatch.setenv("COURSE_CLASS_DIR", str(tmp_path / "class"))
    w = ClassRLHFWidget(make_chat_model(), chat_tokenizer, **tiny)
    assert not w.is_demo and w.report is None and w.counts == {"labels": 0, "students": 0, "rejected": 0}
    w._safely(w.refresh)
    assert "no labels have arrived yet" in w.message
    small_class(tmp_path / "class")
    w.refresh_button.click()
    assert w.counts == {"labels": 7, "students": 3, "rejected": 4} and w.message == ""
    text = plain_text(w.summary.value)
    assert "7 labels from 3 students" in text and "60% of 5 comparisons" in text and "80% of 5 labels" in text
    w.train_button.click()
    assert "needs at least 8" in w.message and w.training is None  # an error in the widget, not a traceback

    classroom.simulated_class(tmp_path / "class", synthetic_pairs(), students=4, per_student=6, seed=0)
    with torch.no_grad():  # as in class mode, where the explorers switch gradients off
        report = w.train()
    assert w.counts["students"] == 7 and report["labels"] == 5 + 24
    shown = plain_text(w.results.value)
    assert "before" in shown and report["examples"][0]["after"] in shown and "saved in" in w.message

    # No class folder: it says how to set one and makes a demo class in the demo folder.
    monkeypatch.delenv("COURSE_CLASS_DIR")
    monkeypatch.setattr(class_rlhf, "demo_dir", lambda: tmp_path / "demo")
    demo = ClassRLHFWidget(make_chat_model(), chat_tokenizer, **tiny)
    assert demo.is_demo and "COURSE_CLASS_DIR" in plain_text(demo.header.value)
    demo.make_demo(synthetic_pairs(), students=5, per_student=4)
    assert demo.counts == {"labels": 20, "students": 5, "rejected": 0}
    with pytest.raises(ValueError, match="real class"):
        w.make_demo(synthetic_pairs())
