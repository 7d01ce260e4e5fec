"""Lesson 09 · Scale: checkers.

    from course_lib.exercises import lesson09
    lesson09.check_reading_years(reading_years)
    lesson09.check_training_years(training_years)

Both are plain arithmetic from stated assumptions; the checkers compare with
`course_lib.scale` (reading_years; training_ops and compute_years).
"""
import math

from .. import scale
from .core import ExerciseFailed, run_check
from .reference import reference


# -- checkers --------------------------------------------------------------------------------------

def _number(name, value):
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExerciseFailed(f"{name} should return a number, but it returned a {type(value).__name__}.")
    return float(value)


def _close(a, b):
    return math.isclose(a, b, rel_tol=1e-6)


_READING_CASES = [
    # tokens, words per token, words per minute, hours a day
    (499e9, 0.75, 250, 24),  # GPT-3's dataset, non-stop
    (1e6, 0.75, 250, 8),  # a million tokens, a working day at a time
    (3e5, 1.0, 200, 2),  # a slow reader, two hours a day
]


def _test_reading_years(fn):
    for tokens, wpt, wpm, hours in _READING_CASES:
        got = _number("reading_years", fn(tokens, wpt, wpm, hours))
        expected = scale.reading_years(tokens, wpt, wpm, hours)
        if _close(got, expected):
            continue
        case = (f"for {tokens:,.0f} tokens, {wpt:g} words per token, {wpm:g} words per minute, "
                f"{hours:g} hours a day")
        ratio = got / expected if expected else float("inf")
        if _close(ratio, 365 / 365.25):
            raise ExerciseFailed(f"{case} you get {got:.6g} years, a hair off {expected:.6g}: the course counts "
                                 "365 days in a year (no leap days).")
        if _close(ratio, wpt ** -2):
            raise ExerciseFailed(f"{case} you get {got:,.4g} years, the scale's figure is {expected:,.4g}. "
                                 "Tokens become words by *multiplying* by words_per_token.")
        if hours != 24 and (_close(ratio, 24 / hours) or _close(ratio, hours / 24)):
            raise ExerciseFailed(f"{case} you get {got:,.4g} years, the scale's figure is {expected:,.4g}. "
                                 "A day of reading has hours_per_day hours, not 24.")
        if _close(ratio, 60) or _close(ratio, 1 / 60):
            raise ExerciseFailed(f"{case} you get {got:,.4g} years, off by a factor of 60 from {expected:,.4g}. "
                                 "Check your minutes and hours: words_per_minute gives minutes, a day has "
                                 "hours_per_day × 60 of them.")
        raise ExerciseFailed(f"{case} you get {got:,.6g} years, the scale's figure is {expected:,.6g} "
                             f"(yours is {ratio:.4g} times that). Hint: tokens → words → minutes → days → years, "
                             "one multiplication or division each.")


def check_reading_years(reading_years) -> bool:
    """Checks reading_years(tokens, words_per_token, words_per_minute, hours_per_day) against course_lib.scale."""
    return run_check("reading_years", reading_years, reference("lesson09", "reading_years"), _test_reading_years)


_TRAINING_CASES = [
    # params, tokens, operations per second
    (175e9, 300e9, 1e9),  # GPT-3 at a billion a second
    (405e9, 15.6e12, 1e9),  # Llama 3.1 405B
    (5e6, 2e8, 3e10),  # a small model on a laptop
]


def _test_training_years(fn):
    for params, tokens, speed in _TRAINING_CASES:
        got = _number("training_years", fn(params, tokens, speed))
        expected = scale.compute_years(scale.training_ops(params, tokens), speed)
        if _close(got, expected):
            continue
        case = f"for {params:.3g} weights, {tokens:.3g} tokens at {speed:.3g} operations per second"
        ratio = got / expected
        hints = [
            (1 / 6, "the operations per weight per token are missing: training costs about 6 of them."),
            (1 / 3, "2 operations per weight per token is only the forward pass; the backward pass adds 4 more."),
            (365 / 365.25, "the course counts 365 days in a year (no leap days)."),
            (365 * 24 * 3600, "that is in seconds: divide by the seconds in a year."),
            (365 * 24, "that is in hours: a year has 365 × 24 × 3600 seconds."),
            (24, "a day has 24 hours: a year has 365 × 24 × 3600 seconds."),
            (60, "an hour has 3600 seconds: a year has 365 × 24 × 3600 of them."),
        ]
        for factor, why in hints:
            if _close(ratio, factor):
                raise ExerciseFailed(f"{case} you get {got:.4g} years, the scale's figure is {expected:.4g}: {why}")
        raise ExerciseFailed(f"{case} you get {got:.4g} years, the scale's figure is {expected:.4g} (yours is "
                             f"{ratio:.4g} times that). Hint: operations = 6 × weights × tokens; seconds = "
                             "operations ÷ operations per second; then years.")


def check_training_years(training_years) -> bool:
    """Checks training_years(params, tokens, ops_per_second) against course_lib.scale (6ND, 365-day years)."""
    return run_check("training_years", training_years, reference("lesson09", "training_years"), _test_training_years)
