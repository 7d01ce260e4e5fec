"""Lesson 04 · Meaning as vectors: checkers.

    from course_lib.exercises import lesson04
    lesson04.check_cosine_similarity(cosine_similarity)
    lesson04.check_nearest_neighbours(nearest_neighbours)
"""
import torch
import torch.nn.functional as F

from .core import ExerciseFailed, compare_tensors, run_check
from .reference import reference


# -- checkers --------------------------------------------------------------------------------------

def _test_cosine_similarity(fn):
    a = torch.tensor([3.0, 4.0])
    b = torch.tensor([4.0, 3.0])
    got = fn(a, b)
    if isinstance(got, (int, float)):
        got = torch.tensor(float(got))
    expected = torch.tensor(24.0 / 25.0)
    if isinstance(got, torch.Tensor) and got.numel() == 1 and got.shape != expected.shape:
        got = got.reshape(())
    if isinstance(got, torch.Tensor) and got.shape == ():
        if torch.isclose(got, torch.tensor(24.0)):
            raise ExerciseFailed("for a = [3, 4], b = [4, 3] you returned 24, the dot product. "
                                 "Hint: divide by the lengths of both vectors, so the answer lies between -1 and 1.")
        if torch.isclose(got, torch.tensor(24.0 / 5.0)):
            raise ExerciseFailed("for a = [3, 4], b = [4, 3] you returned 4.8. "
                                 "Hint: divide by the length of *both* vectors.")
    compare_tensors("cosine_similarity([3, 4], [4, 3])", got, expected,
                    hint="the cosine similarity of two vectors is their dot product divided by the "
                         "product of their lengths.")
    g = torch.Generator().manual_seed(0)
    for name, (a, b) in {
        "the similarity of a vector with itself": (torch.tensor([1.0, -2.0, 2.0]),) * 2,
        "the similarity of opposite vectors": (torch.tensor([1.0, -2.0, 2.0]), torch.tensor([-2.0, 4.0, -4.0])),
        "the similarity of two random 256-number vectors": (torch.randn(256, generator=g), torch.randn(256, generator=g)),
    }.items():
        got = fn(a, b)
        if isinstance(got, (int, float)):
            got = torch.tensor(float(got))
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.reshape(())
        compare_tensors(name, got, F.cosine_similarity(a, b, dim=0), atol=1e-5,
                        hint="it should work for vectors of any length (use the whole vector).")


def check_cosine_similarity(cosine_similarity) -> bool:
    """Checks cosine_similarity(a (C,), b (C,)) -> a number between -1 and 1 (a tensor of shape ())."""
    return run_check("cosine_similarity", cosine_similarity, reference("lesson04", "cosine_similarity"),
                     _test_cosine_similarity)


def _table(seed=0, V=30, C=8):
    g = torch.Generator().manual_seed(seed)
    E = torch.randn(V, C, generator=g)
    E[7] = 10 * E[3]  # row 7 points exactly where row 3 does, but is much longer
    return E


# The right answers for _table(): nearest_neighbours(E, i, k) for each (i, k) the checker asks.
# Recorded from the reference solution; tests/test_exercises_lessons03_06.py checks they still are.
NEIGHBOURS = {(3, 5): [7, 1, 16, 0, 29], (0, 1): [14], (12, 8): [26, 21, 19, 25, 2, 20, 17, 29]}


def _neighbours(i, k) -> torch.Tensor:
    return torch.tensor(NEIGHBOURS[(i, k)])


def _test_nearest_neighbours(fn):
    E = _table()
    E_before = E.clone()
    got = fn(E, 3, 5)
    if not torch.equal(E, E_before):
        raise ExerciseFailed("your function changed the table E; work on a copy (or on new tensors).")
    expected = _neighbours(3, 5)
    if isinstance(got, list):
        got = torch.tensor(got)
    if not isinstance(got, torch.Tensor):
        raise ExerciseFailed(f"return a tensor of row indices, not a {type(got).__name__}.")
    if got.shape != expected.shape:
        raise ExerciseFailed(f"you returned shape {tuple(got.shape)}; for k=5 the answer is 5 row indices, "
                             f"shape {tuple(expected.shape)}.")
    if got.is_floating_point():
        raise ExerciseFailed("you returned numbers with decimals; return the row *indices* (whole numbers), "
                             "not the similarities. Hint: topk gives both, as .values and .indices.")
    got = got.long()
    if 3 in got.tolist():
        raise ExerciseFailed("row 3 is in your answer for row 3. Every word is most similar to itself; "
                             "leave the word itself out.")
    if 7 not in got.tolist():
        raise ExerciseFailed("row 7 points in exactly the same direction as row 3 (it is 10 times longer), so "
                             "it must be the nearest neighbour. Hint: compare directions, not positions: "
                             "use the cosine similarity, not the distance or the plain dot product.")
    dots = E @ E[3]
    dots[3] = float("-inf")
    if torch.equal(got, dots.topk(5).indices) and not torch.equal(got, expected):
        raise ExerciseFailed("you ranked by the plain dot product, which favours long vectors. "
                             "Hint: divide by the lengths (cosine similarity).")
    if set(got.tolist()) == set(expected.tolist()) and not torch.equal(got, expected):
        raise ExerciseFailed("you found the right rows but in the wrong order: the most similar comes first.")
    compare_tensors("the neighbours of row 3", got, expected,
                    hint="rank every other row by its cosine similarity with row i, the most similar first.")
    for i, k in ((0, 1), (12, 8)):
        got = fn(E, i, k)
        got = torch.tensor(got) if isinstance(got, list) else got
        compare_tensors(f"the {k} neighbours of row {i}", got.long(), _neighbours(i, k),
                        hint="the answer should depend on i and k, the arguments.")


def check_nearest_neighbours(nearest_neighbours) -> bool:
    """Checks nearest_neighbours(E (V, C), i, k) -> (k,) row indices, most similar first, without i."""
    return run_check("nearest_neighbours", nearest_neighbours, reference("lesson04", "nearest_neighbours"),
                     _test_nearest_neighbours)
