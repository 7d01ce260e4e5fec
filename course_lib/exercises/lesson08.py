"""Lesson 08 · Pre-training: checker.

    from course_lib.exercises import lesson08
    lesson08.check_lr_schedule(lr_schedule)

The learning rate a training run uses at each step: a short linear warmup, then half a
cosine down to a floor. The checker compares the learner's function with the one the
trainer really uses, `course_lib.optim.lr_at`.
"""
import math

from ..optim import lr_at
from .core import ExerciseFailed, run_check
from .reference import reference


# -- checker ---------------------------------------------------------------------------------------

_SETTINGS = [
    dict(max_lr=1e-3, min_lr=1e-4, warmup_steps=100, max_steps=2000),
    dict(max_lr=4e-3, min_lr=4e-4, warmup_steps=50, max_steps=1400),
    dict(max_lr=6e-4, min_lr=0.0, warmup_steps=10, max_steps=60),
]


def _steps(s):
    w, m = s["warmup_steps"], s["max_steps"]
    return sorted({0, 1, w // 2, w - 1, w, w + 1, (w + m) // 2, m - 1, m, m + 5, 2 * m})


def _close(a, b):
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


def _describe(step, s):
    w, m = s["warmup_steps"], s["max_steps"]
    if step < w:
        return f"step {step} (inside the warmup of {w} steps)"
    if step == w:
        return f"step {step} (the first step after the warmup)"
    if step < m:
        return f"step {step} (in the cosine decay, which ends at max_steps={m})"
    return f"step {step} (at or after max_steps={m})"


def _test_lr_schedule(fn):
    for s in _SETTINGS:
        w, m, hi, lo = s["warmup_steps"], s["max_steps"], s["max_lr"], s["min_lr"]
        for step in _steps(s):
            got = fn(step, s["max_lr"], s["min_lr"], s["warmup_steps"], s["max_steps"])
            if hasattr(got, "item"):  # a 0-d tensor is fine
                got = got.item()
            if isinstance(got, bool) or not isinstance(got, (int, float)):
                raise ExerciseFailed(f"lr_schedule should return a number, but it returned a {type(got).__name__}.")
            expected = lr_at(step, **s)
            if _close(got, expected):
                continue
            where = f"with max_lr={hi:g}, min_lr={lo:g}, warmup_steps={w}, max_steps={m}, at {_describe(step, s)}"
            if step < w:
                if _close(got, hi * step / w):
                    raise ExerciseFailed(
                        f"{where} you return {got:.6g}. Count step 0 as the first step of the warmup: a learning "
                        "rate of 0 at step 0 would waste that step. Hint: step + 1."
                    )
                raise ExerciseFailed(
                    f"{where} you return {got:.6g}; the trainer uses {expected:.6g}. During the warmup the rate "
                    "grows in equal steps from max_lr / warmup_steps to max_lr."
                )
            if step >= m:
                raise ExerciseFailed(
                    f"{where} you return {got:.6g}; the trainer uses {expected:.6g}. Once max_steps is reached "
                    "the rate stays at its floor, min_lr."
                )
            progress = (step - w) / max(1, m - w)
            if _close(got, 0.5 * (1 + math.cos(math.pi * progress)) * hi):
                raise ExerciseFailed(
                    f"{where} you return {got:.6g}; the trainer uses {expected:.6g}. Your cosine falls to 0: it "
                    "should fall from max_lr to min_lr, so the floor is min_lr."
                )
            if _close(got, lo + 0.5 * (1 + math.cos(math.pi * step / m)) * (hi - lo)):
                raise ExerciseFailed(
                    f"{where} you return {got:.6g}; the trainer uses {expected:.6g}. Your cosine counts from step "
                    "0; it should start when the warmup ends, so measure progress from warmup_steps to max_steps."
                )
            if _close(got, hi - progress * (hi - lo)):
                raise ExerciseFailed(
                    f"{where} you return {got:.6g}; the trainer uses {expected:.6g}. Your rate falls in a straight "
                    "line; the schedule follows half a cosine (slow at first, fastest in the middle, slow at the end)."
                )
            raise ExerciseFailed(
                f"{where} you return {got:.6g}; the trainer uses {expected:.6g}. Hint: progress goes from 0 "
                "(end of the warmup) to 1 (max_steps); the rate is min_lr plus (max_lr - min_lr) times a factor "
                "that falls from 1 to 0 along half a cosine, (1 + cos(π × progress)) / 2."
            )


def check_lr_schedule(lr_schedule) -> bool:
    """Checks lr_schedule(step, max_lr, min_lr, warmup_steps, max_steps) against course_lib.optim.lr_at."""
    return run_check("lr_schedule", lr_schedule, reference("lesson08", "lr_schedule"), _test_lr_schedule)
