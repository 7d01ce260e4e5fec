"""Lesson 02 · A first language model: counting.

The learner writes `bigram_counts(ids, vocab_size)`: a (V, V) table whose entry [a, b] says
how often token b comes right after token a in the sequence `ids`. The checker compares
it with the library's, `course_lib.bigram.bigram_counts`, on small hand-made sequences and on
random ones.

    from course_lib.exercises import lesson02
    lesson02.check_bigram_counts(bigram_counts)

Later cells of the lesson use the library's table on the whole corpus.
"""
import torch

from ..bigram import bigram_counts
from .core import ExerciseFailed, compare_tensors, run_check
from .reference import reference


def _test_bigram_counts(fn) -> None:
    cases = [
        (torch.tensor([0, 1, 1, 2, 0, 1]), 3, "the sequence [0, 1, 1, 2, 0, 1] with vocab_size 3"),
        (torch.tensor([2, 2, 2]), 4, "the sequence [2, 2, 2] with vocab_size 4 (tokens 0, 1, 3 never appear)"),
    ]
    g = torch.Generator().manual_seed(0)
    cases.append((torch.randint(0, 10, (500,), generator=g), 10, "500 random tokens with vocab_size 10"))
    for ids, V, about in cases:
        got = fn(ids.clone(), V)
        expected = bigram_counts(ids, V)
        if not isinstance(got, torch.Tensor):
            raise ExerciseFailed(f"The function should return a torch tensor, but it returned a {type(got).__name__}.")
        if tuple(got.shape) != (V, V):
            raise ExerciseFailed(
                f"For {about} the table has shape {tuple(got.shape)}, but it should be ({V}, {V}). "
                "Hint: one row and one column for every token of the vocabulary, also for tokens that never appear."
            )
        n_pairs = len(ids) - 1
        total = float(got.double().sum())
        if abs(total - n_pairs) > 1e-6:
            raise ExerciseFailed(
                f"For {about} the counts add up to {total:g}, but a sequence of {len(ids)} tokens has "
                f"{n_pairs} neighbouring pairs (each token with the one right after it)."
            )
        if not torch.equal(expected, expected.T) and torch.allclose(got.double(), expected.T.double()):
            raise ExerciseFailed(
                f"For {about} the table is transposed. Hint: the row is the token that comes first, the column "
                "the token that follows it: counts[a, b] counts b right after a."
            )
        compare_tensors(
            f"For {about}, the table", got, expected,
            hint="counts[a, b] should be the number of positions i where ids[i] == a and ids[i + 1] == b.",
        )


def check_bigram_counts(fn) -> bool:
    """Check the learner's bigram_counts(ids, vocab_size) against course_lib.bigram.bigram_counts."""
    return run_check("bigram counts", fn, reference("lesson02", "bigram_counts"), _test_bigram_counts)
