"""Lesson 00 · The prediction machine: softmax with temperature.

The learner writes `softmax_with_temperature(logits, temperature)`: scores in, probabilities
out. The checker compares it with `course_lib.sampling.probs_from_logits`, the function the
course uses everywhere to turn a model's scores into next-token probabilities.

    from course_lib.exercises import lesson00
    lesson00.check_softmax_with_temperature(softmax_with_temperature)
"""
import torch

from ..sampling import probs_from_logits
from .core import ExerciseFailed, compare_tensors, run_check
from .reference import reference


# Scores for five made-up tokens, and a batch of two such rows.
_SCORES = torch.tensor([2.0, 1.0, 0.5, -1.0, -3.0])
_BATCH = torch.tensor([[2.0, 1.0, 0.5, -1.0, -3.0], [0.0, 0.0, 4.0, 1.0, -2.0]])
_LARGE = torch.tensor([1000.0, 999.0, 990.0])


def _test_softmax(fn) -> None:
    # 1. Plain softmax (temperature 1): right type, shape, adds up to 1, right values.
    got = fn(_SCORES.clone(), 1.0)
    expected = probs_from_logits(_SCORES, 1.0)
    if not isinstance(got, torch.Tensor):
        raise ExerciseFailed(f"The function should return a torch tensor, but it returned a {type(got).__name__}.")
    if tuple(got.shape) != tuple(expected.shape):
        raise ExerciseFailed(
            f"For {len(_SCORES)} scores it returned shape {tuple(got.shape)}; it should return one probability "
            f"per score, shape {tuple(expected.shape)}."
        )
    total = float(got.double().sum())
    if abs(total - 1.0) > 1e-4:
        raise ExerciseFailed(
            f"At temperature 1 the probabilities add up to {total:.4g}, not 1. "
            "Hint: after exp(), divide by the sum of all the exp() values."
        )
    if (got < 0).any():
        raise ExerciseFailed("Some probabilities are negative. Hint: exp() of any number is positive.")
    compare_tensors(
        "At temperature 1 the result", got, expected,
        hint="at temperature 1 this is plain softmax: exp(score) divided by the sum of exp(all scores).",
    )
    # 2. Other temperatures: the scores are divided by the temperature before exp().
    for t in (0.5, 2.0):
        got = fn(_SCORES.clone(), t)
        expected = probs_from_logits(_SCORES, t)
        compare_tensors(
            f"At temperature {t} the result", got, expected,
            hint="divide the scores by the temperature first, then take the softmax (not the other way round).",
        )
    # 3. A batch of rows: softmax along the last dimension, each row on its own.
    got = fn(_BATCH.clone(), 0.8)
    expected = probs_from_logits(_BATCH, 0.8)
    compare_tensors(
        "For a batch of 2 rows of scores, the result", got, expected,
        hint="each row must add up to 1 on its own: use dim=-1 (the last dimension) with keepdim=True in the sum.",
    )
    # 4. Large scores: naive exp(1000) overflows to infinity.
    got = fn(_LARGE.clone(), 1.0)
    expected = probs_from_logits(_LARGE, 1.0)
    if isinstance(got, torch.Tensor) and not torch.isfinite(got).all():
        raise ExerciseFailed(
            "For large scores such as [1000, 999, 990] it returns nan or inf: exp(1000) is too big for a float. "
            "Hint: subtracting the same number from every score does not change the softmax; "
            "subtract the largest score first."
        )
    compare_tensors("For large scores [1000, 999, 990] the result", got, expected)


def check_softmax_with_temperature(fn) -> bool:
    """Check the learner's softmax_with_temperature against course_lib.sampling.probs_from_logits."""
    return run_check("softmax with temperature", fn, reference("lesson00", "softmax_with_temperature"), _test_softmax)
