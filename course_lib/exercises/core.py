"""The mechanics shared by every checker: run, compare, explain (and note the result in the
learner's progress file, `course_lib.progress`, except in test mode)."""
import os
import re
import sys

import torch

PASS = "✅"
FAIL = "❌"


class NoReferenceSolutions(RuntimeError):
    """Test mode (COURSE_FILL_SOLUTIONS=1) in a copy of the course without solutions (the student edition)."""


class ExerciseFailed(Exception):
    """Raised inside a checker to report what is wrong; the message is shown to the learner."""


def fill_solutions() -> bool:
    """True when the test suite asks checkers to use the reference solutions."""
    return os.environ.get("COURSE_FILL_SOLUTIONS", "0") not in ("", "0")


def compare_tensors(name: str, got, expected, atol=1e-5, hint: str = "") -> None:
    """Raise ExerciseFailed with a clear reason when `got` is not `expected`."""
    if not isinstance(got, torch.Tensor):
        raise ExerciseFailed(f"{name} should be a torch tensor, but it is a {type(got).__name__}.")
    if tuple(got.shape) != tuple(expected.shape):
        raise ExerciseFailed(
            f"{name} has shape {tuple(got.shape)}, but it should have shape {tuple(expected.shape)}."
            + (f" Hint: {hint}" if hint else "")
        )
    if not torch.allclose(got.double(), expected.double(), atol=atol, rtol=1e-4, equal_nan=False):
        diff = (got.double() - expected.double()).abs()
        where = tuple(int(i) for i in torch.nonzero(diff == diff.max())[0]) if diff.numel() else ()
        raise ExerciseFailed(
            f"{name} has the right shape but different values: the largest difference is "
            f"{diff.max().item():.4g} at position {where}." + (f" Hint: {hint}" if hint else "")
        )


def _caller_lesson(depth: int = 2):
    """'05' when called from a checker in course_lib.exercises.lesson05 (else None)."""
    m = re.search(r"lesson(\d\d)$", sys._getframe(depth).f_globals.get("__name__", ""))
    return m.group(1) if m else None


def run_check(title: str, learner_fn, reference_fn, test, lesson=None) -> bool:
    """Run `test(fn)` on the learner's function (or on the reference in fill-solutions mode).

    `test` raises ExerciseFailed (or an AssertionError) with a readable message when `fn`
    is wrong. Prints the verdict and returns True when the function passes. The result is
    saved to the progress file under `lesson` (default: the NN of the calling module
    `course_lib.exercises.lessonNN`); never in fill-solutions mode.
    """
    lesson = lesson or _caller_lesson()
    fn = learner_fn
    test_mode = fill_solutions()
    if test_mode:
        fn = reference_fn
        print("(test mode: checking the reference solution)")
    passed = False
    try:
        test(fn)
    except NotImplementedError:
        print(f"{FAIL} {title}: not written yet. Replace `raise NotImplementedError` with your code, then run this cell again.")
    except ExerciseFailed as e:
        print(f"{FAIL} {title}: not yet. {e}")
    except NoReferenceSolutions as e:  # not the learner's fault: say so
        print(f"{FAIL} {title}: {e}")
    except Exception as e:  # the learner's code crashed: show the error, not a traceback
        print(f"{FAIL} {title}: your function raised {type(e).__name__}: {e}")
    else:
        print(f"{PASS} {title}: correct!")
        passed = True
    if not test_mode:
        from .. import progress

        progress.record("exercise", lesson, title, passed=passed)
    return passed
