"""A learner's progress file: written by the checkers, never in test mode, read back as a table."""
import json
import warnings

import pytest

from course_lib import progress, quiz
from course_lib.exercises import lesson01
from course_lib.quiz import prompts
from course_lib.tokenizer.bpe import merge_pair


right_merge = merge_pair  # a right answer to lesson 01's exercise: the library's own merge


@pytest.fixture
def progress_file(monkeypatch, tmp_path):
    """Learner mode, recording on, into a file of the test's own."""
    monkeypatch.delenv("COURSE_FILL_SOLUTIONS", raising=False)
    monkeypatch.delenv("COURSE_NO_PROGRESS", raising=False)
    path = tmp_path / "progress" / "progress.jsonl"
    monkeypatch.setenv("COURSE_PROGRESS_FILE", str(path))
    monkeypatch.setattr(progress, "_warned", False)
    monkeypatch.setattr(prompts, "_GUESSES", {})
    return path


def entries(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_exercise_checks_are_recorded_with_their_lesson(progress_file):
    assert not lesson01.check_merge(lambda ids, pair, new_id: ids)
    assert lesson01.check_merge(right_merge)
    got = entries(progress_file)
    assert [(e["kind"], e["lesson"], e["name"], e["passed"]) for e in got] == [
        ("exercise", "01", "merge", False), ("exercise", "01", "merge", True)]
    assert all(e["time"].endswith("+00:00") for e in got)


def test_quiz_and_predictions_are_recorded(progress_file, capsys):
    quiz.check("00", {"q1": "b", "q2": None})
    quiz.predict("00", "p1", 30)
    quiz.reveal("00", "p1", 41.2)
    got = entries(progress_file)
    assert got[0]["kind"] == "quiz" and got[0]["score"] == 1 and got[0]["total"] == 5 and not got[0]["passed"]
    assert got[0]["answers"] == {"q1": True}
    assert [(e["kind"], e["name"], e.get("passed")) for e in got[1:]] == [
        ("prediction", "p1", None), ("prediction", "p1", False)]


def test_nothing_is_recorded_in_test_mode(progress_file, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_FILL_SOLUTIONS", "1")
    lesson01.check_merge(right_merge)
    quiz.check("00", {})
    quiz.predict("00", "p1", 30)
    monkeypatch.delenv("COURSE_FILL_SOLUTIONS")
    monkeypatch.setenv("COURSE_NO_PROGRESS", "1")
    lesson01.check_merge(right_merge)
    assert not progress_file.exists()


def test_tests_never_write_the_learners_own_file(progress_file, monkeypatch, tmp_path, capsys):
    from course_lib import paths

    monkeypatch.delenv("COURSE_PROGRESS_FILE")
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "data")
    assert progress.progress_file() == tmp_path / "data" / "progress" / "progress.jsonl"
    lesson01.check_merge(right_merge)  # under pytest, without a file named: nothing recorded
    assert not (tmp_path / "data").exists()


def test_an_unwritable_file_only_warns_once(progress_file, monkeypatch, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("COURSE_PROGRESS_FILE", str(blocker / "progress.jsonl"))
    with pytest.warns(RuntimeWarning, match="could not save your progress"):
        assert lesson01.check_merge(right_merge)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert quiz.check("00", {"q1": "b"}) == 1
    assert "✅ merge: correct!" in capsys.readouterr().out


def test_table_and_widget(progress_file, capsys):
    assert progress.table().startswith("No progress saved yet")
    lesson01.check_merge(lambda ids, pair, new_id: ids)
    lesson01.check_merge(right_merge)
    quiz.check("00", {"q1": "b"})
    quiz.check("00", {"q1": "b", "q2": 0.88, "q3": 0.73, "q4": "a", "q5": "c"})
    quiz.check("00", {"q1": "b", "q2": 0.88})
    quiz.predict("00", "p1", 40)
    quiz.reveal("00", "p1", 41.2)
    with progress_file.open("a") as f:
        f.write('{"kind": "exercise", "lesson": "02", "na')  # a torn last line is skipped
    rows = progress.rows()
    assert [r[0] for r in rows] == [f"{n:02d}" for n in range(13)]  # every lesson, done or not
    assert rows[0] == ("00", "0 of 1", "5 of 5 ✅", "1 made, 1 right")
    assert rows[1] == ("01", "1 of 1 (merge)", "-", "-")
    assert rows[3] == ("03", "0 of 2", "-", "-")
    assert progress.rows(every_lesson=False) == rows[:2]
    text = progress.table()
    assert text.splitlines()[0].split() == ["lesson", "exercises", "passed", "exit", "quiz", "(best)", "predictions"]
    assert "1 of 1 (merge)" in text
    capsys.readouterr()
    assert progress.main([]) == 0
    assert capsys.readouterr().out.strip() == text

    from course_lib.widgets import ProgressWidget

    assert "No progress saved yet" in ProgressWidget(path=progress_file.parent / "none.jsonl").table.value
    w = ProgressWidget()
    assert w.rows == progress.rows()
    assert "<td style='padding:2px 12px'>5 of 5 ✅</td>" in w.table.value
    progress.record("exercise", "02", "bigram counts", passed=True)
    assert w.rows[2] == ("02", "0 of 1", "-", "-")
    w.refresh_button.click()
    assert w.rows[2] == ("02", "1 of 1 (bigram counts)", "-", "-")


def test_bad_kind_is_refused():
    with pytest.raises(ValueError, match="progress kind"):
        progress.record("homework", "00", "x")
