"""Checkers for the lessons' exercises.

A lesson asks the learner to write one small function; the cell after it calls a checker:

    from course_lib.exercises import lesson02
    lesson02.check_bigram_counts(bigram_counts)

The checker runs the learner's function on test inputs, compares with the library's (or
PyTorch's) own piece, and prints a verdict that says what differs (shape, values, a hint)
without giving the answer. It returns True or False.

When the environment variable COURSE_FILL_SOLUTIONS=1 is set (the test suite sets it), the
checker checks the reference solution instead of the learner's unfinished function, so the
checking path itself is exercised in CI.

Each lesson's checkers live in a module of this package (`lessonNN`), the reference solutions
in `solutions/lessonNN.py`. The checkers never need those: the student edition
(scripts/make_editions.py) leaves that package out.
"""
from .core import ExerciseFailed, compare_tensors, fill_solutions, run_check

__all__ = ["ExerciseFailed", "compare_tensors", "fill_solutions", "run_check"]
