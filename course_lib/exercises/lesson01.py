"""Lesson 01 · Text to numbers: one step of byte-pair encoding.

The learner writes `merge(ids, pair, new_id)`: replace every occurrence of the neighbouring
pair `pair` in the list `ids` by the single token `new_id`. That is the step BPE repeats
thousands of times. The checker compares it with the tokenizer's own mechanics,
`course_lib.tokenizer.merge_pair`.

    from course_lib.exercises import lesson01
    lesson01.check_merge(merge)
"""
from ..tokenizer import merge_pair
from .core import ExerciseFailed, run_check
from .reference import reference


# (ids, pair, new_id, what the case is about)
_CASES = [
    ([1, 2, 3, 1, 2], (1, 2), 99, "a simple case"),
    ([7, 1, 2], (1, 2), 99, "the pair at the very end"),
    ([1, 2, 7], (1, 2), 99, "the pair at the very start"),
    ([1, 3, 2, 4], (1, 2), 99, "1 and 2 that are not neighbours"),
    ([2, 1, 2, 1], (1, 2), 99, "the same numbers in the other order"),
    ([4], (1, 2), 99, "a list of one token"),
    ([], (1, 2), 99, "an empty list"),
    ([5, 5, 5], (5, 5), 99, "overlapping pairs"),
    ([5, 5, 5, 5], (5, 5), 99, "overlapping pairs"),
    (list("aaabdaaabac".encode("utf-8")), (97, 97), 256, "the bytes of 'aaabdaaabac'"),
]


def _as_list(got):
    if hasattr(got, "tolist"):  # a tensor or an array
        got = got.tolist()
    if isinstance(got, tuple):
        got = list(got)
    return got


def _test_merge(fn) -> None:
    for case_ids, pair, new_id, about in _CASES:
        original = list(case_ids)
        ids = list(case_ids)  # a fresh copy, to see whether the function changes it
        got = fn(ids, pair, new_id)
        if ids != original:
            raise ExerciseFailed(
                f"Your function changed the list it was given (ids={original} became {ids}). "
                "Hint: build a new list and return it, leave `ids` as it is."
            )
        if got is None:
            raise ExerciseFailed("Your function returned None. Hint: `return` the new list at the end.")
        got = _as_list(got)
        if not isinstance(got, list):
            raise ExerciseFailed(f"Your function should return a list of ints, but it returned a {type(got).__name__}.")
        expected = merge_pair(original, pair, new_id)
        if got != expected:
            hint = ""
            if about == "overlapping pairs":
                hint = (" Hint: read from left to right; once two tokens have been merged, both are used up, "
                        "so the search goes on after the second one.")
            elif len(got) < len(expected):
                hint = " Hint: make sure no token is lost, in particular the last one."
            elif len(got) > len(expected):
                hint = (" Hint: when the pair is found, add new_id once and skip both of its tokens.")
            raise ExerciseFailed(
                f"For {about}, merge({original}, {pair}, {new_id}) returned {got}, but it should return "
                f"{expected}.{hint}"
            )


def check_merge(fn) -> bool:
    """Check the learner's merge against the BPE tokenizer's own merge step."""
    return run_check("merge", fn, reference("lesson01", "merge"), _test_merge)
