"""The quizzes: answers checked against the stored hashes, the key in step, predict-first prompts."""
import math
import pkgutil
import sys

import pytest

import course_lib.quiz as quiz
from course_lib.quiz import core, hashes, prompts

KEY_00 = {"q1": "b", "q2": math.exp(2) / (math.exp(2) + 1), "q3": math.exp(1) / (math.exp(1) + 1),
          "q4": "a", "q5": "c"}


@pytest.fixture
def learner(monkeypatch, tmp_path):
    """Learner mode, with progress going to a file of the test's own."""
    monkeypatch.delenv("COURSE_FILL_SOLUTIONS", raising=False)
    monkeypatch.delenv("COURSE_NO_PROGRESS", raising=False)
    monkeypatch.setenv("COURSE_PROGRESS_FILE", str(tmp_path / "progress.jsonl"))
    monkeypatch.setattr(prompts, "_GUESSES", {})  # no guesses left over from another test


@pytest.fixture
def no_key(monkeypatch):
    """The student edition: importing course_lib.quiz.answers fails."""
    monkeypatch.setitem(sys.modules, "course_lib.quiz.answers", None)


def lesson_modules():
    return sorted(m.name[len("lesson"):] for m in pkgutil.iter_modules(quiz.__path__) if m.name.startswith("lesson"))


def test_every_lesson_with_questions_is_in_the_key_and_its_hashes_match():
    from course_lib.quiz import answers

    for lesson in lesson_modules():
        qs = quiz.questions(lesson)
        if not qs:
            continue
        assert lesson in answers.ANSWERS, f"lesson {lesson} has questions but no answers in answers.py"
        assert core.stored_hashes(lesson) == hashes.expected_hashes(lesson), \
            f"lesson {lesson}: run python -m course_lib.quiz --write-hashes {lesson}"
        assert 3 <= len(qs) <= 5
        for q in qs:
            assert q.hint and q.explanation, f"lesson {lesson} {q.id} needs a hint and an explanation"


def test_the_check_command_agrees(capsys):
    from course_lib.quiz.__main__ import main

    assert main(["--check"]) == 0
    assert "in step" in capsys.readouterr().out


def test_right_wrong_unanswered_and_wrong_kind(learner, capsys):
    answers = {"q1": "B", "q2": 0.88, "q3": 0.5, "q4": None, "q5": 3}
    assert quiz.check("00", answers) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✅ q1: right.")  # letters in any case
    assert out[1].startswith("✅ q2: right.")  # within the tolerance
    assert out[2].startswith("❌ q3: not yet. Hint: ")
    assert out[3].startswith("⬜ q4: not answered yet")
    assert out[4] == '❌ q5: answer with one of the letters "a", "b", "c", "d" (in quotes), not 3.'
    assert out[5] == "Score: 2 of 5."
    assert "test mode" not in " ".join(out)


def test_a_number_given_as_text_is_the_wrong_kind(learner, capsys):
    quiz.check("00", {"q2": "0.88"})
    assert "❌ q2: answer with a number (without quotes), not '0.88'." in capsys.readouterr().out


def test_a_number_may_come_as_a_one_number_tensor(learner, capsys):
    import numpy as np
    import torch

    assert quiz.check("00", {"q2": torch.tensor([2.0, 0.0]).softmax(0)[0], "q3": np.float32(0.731)}) == 2
    quiz.check("00", {"q2": torch.tensor([0.88, 0.12])})
    assert "answer with a number" in capsys.readouterr().out


def test_all_right_and_bad_input(learner, capsys):
    assert quiz.check("00", KEY_00) == 5
    assert capsys.readouterr().out.strip().endswith("Score: 5 of 5 🎉")
    with pytest.raises(ValueError, match="has no question 7, q9"):
        quiz.check("00", {"q9": "a", 7: "b"})
    with pytest.raises(ValueError, match="as a dict"):
        quiz.check("00", ["b"])
    with pytest.raises(ValueError, match="has no quiz"):
        quiz.check("98", {})
    with pytest.raises(ValueError, match="a lesson is a number"):
        quiz.check("five", {})


def test_fill_mode_checks_the_key(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_FILL_SOLUTIONS", "1")
    assert quiz.check("00", {"q1": None}) == 5
    out = capsys.readouterr().out
    assert out.startswith("(test mode: checking the answer key)\n")


def test_checking_needs_no_answer_key(learner, no_key, capsys, monkeypatch):
    assert core.answer_key("00") is None
    assert quiz.check("00", KEY_00) == 5
    assert quiz.check("00", {"q1": "a"}) == 0
    monkeypatch.setenv("COURSE_FILL_SOLUTIONS", "1")
    assert quiz.check("00", {"q1": "b"}) == 1
    assert "this edition has no answer key" in capsys.readouterr().out
    with pytest.raises(ValueError, match="needs the answer key"):
        quiz.instructor_cell(quiz.answer_cell("00"), "00")


@pytest.mark.parametrize("tolerance", [0.01, 0.5, 3.0, 1000.0])
def test_a_number_within_the_tolerance_is_always_right_and_far_off_never(tolerance):
    q = quiz.number("q1", "?", tolerance=tolerance)
    for right in (0.0, 0.123456, -7.77, 12345.678, math.pi * 100):
        h = core.hash_of_answer(q, "00", right)
        for k in range(-40, 41):  # offsets from -tol to +tol, edges included
            assert core.is_right(q, "00", right + tolerance * k / 40, h)
        for off in (1.26, 1.5, 3.0, 10.0):
            assert not core.is_right(q, "00", right + off * tolerance, h)
            assert not core.is_right(q, "00", right - off * tolerance, h)


def test_tolerance_zero_wants_the_exact_whole_number():
    q = quiz.number("q1", "?", tolerance=0)
    h = core.hash_of_answer(q, "00", 789_760)
    assert core.is_right(q, "00", 789_760, h) and core.is_right(q, "00", 789_760.0, h)
    assert not core.is_right(q, "00", 789_761, h)
    with pytest.raises(core.WrongKind, match="a whole number"):
        core.is_right(q, "00", 789_760.5, h)
    with pytest.raises(core.WrongKind):
        core.is_right(q, "00", True, h)


def test_hashes_differ_between_questions_and_lessons():
    a, b = quiz.choice("q1", "?", ["x", "y"]), quiz.choice("q2", "?", ["x", "y"])
    assert core.hash_of_answer(a, "00", "a") != core.hash_of_answer(b, "00", "a")
    assert core.hash_of_answer(a, "00", "a") != core.hash_of_answer(a, "01", "a")


def test_bad_question_definitions():
    with pytest.raises(ValueError, match="2 to 8 options"):
        quiz.choice("q1", "?", ["only one"])
    with pytest.raises(ValueError, match="tolerance must be a number >= 0"):
        quiz.number("q1", "?", tolerance=-1)
    with pytest.raises(ValueError, match="question id"):
        quiz.number("Q 1", "?")


def test_instructor_cell_fills_the_quiz_cell(learner, capsys):
    source = quiz.answer_cell("00")
    assert source.count(": None,") == 5
    filled = quiz.instructor_cell(source, "00")
    assert ": None" not in filled and '"q1": "b",' in filled
    namespace = {"quiz": quiz}
    exec(filled, namespace)
    assert namespace["score"] == 5
    assert quiz.instructor_cell("print('hello')", "00") is None
    assert quiz.instructor_cell(source.replace('"q4": None', '"q4": "b"'), "00").count('"q4": "b"') == 1


def test_show_lists_every_question_and_option():
    text = quiz.show("00")._repr_markdown_()
    for q in quiz.questions("00"):
        assert f"**{q.id}.**" in text
        for option in q.options:
            assert option in text


def test_predict_without_a_guess_never_blocks(learner, capsys):
    p = quiz.predict("00", "p1")
    assert p.guess is None and "No guess yet" in repr(p)
    quiz.reveal("00", "p1", 41.2)
    assert capsys.readouterr().out == "The answer: 41.2. (You did not lock in a guess this time; that is fine.)\n"


def test_predict_with_a_guess_in_code_and_by_the_button(learner, capsys):
    import torch

    quiz.predict("00", "p1", 40)
    assert quiz.guess_of("00", "p1") == 40
    quiz.reveal("00", "p1", 41.2)
    assert "You guessed 40: within 10%" in capsys.readouterr().out
    p = quiz.predict("00", "p2")
    p._repr_mimebundle_()  # builds the widget
    p._picker.value = "not a number"
    p._button.click()
    assert p.guess is None and "does not fit" in p._note.value
    p._picker.value = "90"
    p._button.click()
    assert p.guess == 90 and p._button.disabled and "Locked in" in p._note.value
    quiz.reveal("00", "p2", torch.tensor(56.2))  # a computed tensor is fine
    assert "off by 33.8" in capsys.readouterr().out


def test_reveal_of_a_choice_takes_a_letter_or_an_option(learner, monkeypatch, capsys):
    from course_lib.quiz import lesson00

    monkeypatch.setattr(lesson00, "PREDICTIONS", [quiz.choice("p9", "How many?", ["1", "2", "3"])])
    quiz.predict("00", "p9", "c")
    quiz.reveal("00", "p9", 3)
    assert "you called it" in capsys.readouterr().out
    quiz.reveal("00", "p9", "a")
    assert "The answer: a (1). You guessed c (3)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="one of the letters"):
        quiz.reveal("00", "p9", 4)


def test_the_picker_shows_the_question_as_html():
    p = quiz.predict("02", "p1")
    p._repr_mimebundle_()
    question = p.widget.children[0].value
    assert question.startswith("<b>Predict first.</b> In Shakespeare, <code>q</code> is almost always")
    assert prompts._inline_html("a < b, *c*") == "a &lt; b, <em>c</em>"


def notebook_sources(lesson):
    import json
    from pathlib import Path

    (path,) = Path(__file__).resolve().parent.parent.glob(f"notebooks/{lesson}_*.ipynb")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [("".join(c["source"]), c["cell_type"], c.get("metadata", {}).get("tags", [])) for c in cells]


@pytest.mark.parametrize("lesson", [m for m in lesson_modules() if quiz.questions(m)])
def test_each_lesson_asks_its_questions(lesson):
    cells = notebook_sources(lesson)
    sources = [s for s, _, _ in cells]
    quiz_cells = [i for i, s in enumerate(sources) if quiz.instructor_cell(s, lesson) is not None]
    assert len(quiz_cells) == 1, f"lesson {lesson} needs one exit-quiz cell"
    (i,) = quiz_cells
    assert sources[i] == quiz.answer_cell(lesson), "the exit-quiz cell is out of step with the questions"
    assert "nbval-check-output" in cells[i][2]
    assert i < next(k for k, s in enumerate(sources) if s.startswith("## Recap"))
    for p in core.lesson_module(lesson).PREDICTIONS:
        asked = [k for k, s in enumerate(sources) if f'quiz.predict("{lesson}", "{p.id}"' in s]
        shown = [k for k, s in enumerate(sources) if f'quiz.reveal("{lesson}", "{p.id}"' in s]
        assert len(asked) == 1 and len(shown) == 1 and asked[0] + 1 < shown[0], \
            f"lesson {lesson} {p.id}: one predict cell, then the cell that computes it, then its reveal"


@pytest.mark.parametrize("lesson", [f"{n:02d}" for n in range(13)])
def test_every_exercise_says_how_hard_and_how_long(lesson):
    import re

    headings = [line for s, kind, _ in notebook_sources(lesson) if kind == "markdown"
                for line in s.splitlines() if line.startswith("#") and "Exercise" in line]
    assert headings, f"lesson {lesson} has no exercise heading"
    for line in headings:
        assert re.search(r"\((?:🟠⚪⚪|🟠🟠⚪|🟠🟠🟠) · about \d+ minutes\)$", line), line
