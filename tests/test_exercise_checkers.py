"""What every exercise checker of lessons 03-12 promises (found by name: each
`check_X` with its reference `solutions.lessonNN.X_solution`): it accepts the reference, says
"not written yet" for an unfinished exercise, reports a crash without a traceback, and in the
test suite's mode (COURSE_FILL_SOLUTIONS=1) checks the reference instead. The lesson files
test what is wrong in typical wrong answers."""
import importlib

import pytest

from checker_helpers import unfinished, verdict

pytestmark = pytest.mark.usefixtures("learner_mode")

LESSONS = [importlib.import_module(f"course_lib.exercises.lesson{n:02d}") for n in range(3, 13)]
SOLUTIONS = {m: importlib.import_module(f"course_lib.exercises.solutions.{m.__name__.rsplit('.', 1)[-1]}")
             for m in LESSONS}
ALL_CHECKS = [(getattr(m, name), getattr(SOLUTIONS[m], name[len("check_"):] + "_solution"))
              for m in LESSONS for name in sorted(dir(m))
              if name.startswith("check_") and hasattr(SOLUTIONS[m], name[len("check_"):] + "_solution")]
IDS = [f"{check.__module__.rsplit('.', 1)[-1]}.{check.__name__}" for check, _ in ALL_CHECKS]


def test_every_lesson_from_03_has_checkers():
    assert {check.__module__ for check, _ in ALL_CHECKS} == {m.__name__ for m in LESSONS}
    assert len(ALL_CHECKS) >= 16


@pytest.mark.parametrize("check,solution", ALL_CHECKS, ids=IDS)
def test_reference_solution_passes(check, solution, capsys):
    ok, out = verdict(check, solution, capsys)
    assert ok, out
    assert "✅" in out and "correct!" in out


@pytest.mark.parametrize("check,solution", ALL_CHECKS, ids=IDS)
def test_unfinished_exercise_is_reported_not_raised(check, solution, capsys):
    ok, out = verdict(check, unfinished, capsys)
    assert not ok
    assert "not written yet" in out


@pytest.mark.parametrize("check,solution", ALL_CHECKS, ids=IDS)
def test_a_crash_is_reported_without_a_traceback(check, solution, capsys):
    def crashes(*args, **kwargs):
        return {}["missing"]

    ok, out = verdict(check, crashes, capsys)
    assert not ok
    assert "raised KeyError" in out and "Traceback" not in out


@pytest.mark.parametrize("check,solution", ALL_CHECKS, ids=IDS)
def test_fill_solutions_mode_checks_the_reference(check, solution, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_FILL_SOLUTIONS", "1")
    ok, out = verdict(check, unfinished, capsys)
    assert ok
    assert "test mode" in out and "reference solution" in out


def test_no_checker_module_holds_a_solution():
    """The student edition ships the checker modules without the solutions package."""
    for n in range(13):
        m = importlib.import_module(f"course_lib.exercises.lesson{n:02d}")
        assert not [name for name in dir(m) if name.endswith("_solution")], m.__name__
