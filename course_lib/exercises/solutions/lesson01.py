"""Lesson 01 · one step of byte-pair encoding: the reference solutions (instructor edition only)."""


def merge_solution(ids: list, pair: tuple, new_id: int) -> list:
    """A new list: every non-overlapping `pair` in `ids`, read left to right, replaced by `new_id`."""
    out = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair):
            out.append(new_id)  # the pair found: one new token for both
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
