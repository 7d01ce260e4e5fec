"""Lesson 05 · Attention: checkers.

    from course_lib.exercises import lesson05
    lesson05.check_causal_mask(causal_mask)
    lesson05.check_attention_head(attention_head)
"""
import math

import torch
import torch.nn.functional as F

from ..model import causal_mask as library_mask
from .core import ExerciseFailed, compare_tensors, run_check
from .reference import reference


# -- checkers --------------------------------------------------------------------------------------

def _as_bool_mask(got, T):
    if isinstance(got, list):
        got = torch.tensor(got)
    if not isinstance(got, torch.Tensor):
        raise ExerciseFailed(f"return a torch tensor, not a {type(got).__name__}.")
    if tuple(got.shape) != (T, T):
        raise ExerciseFailed(f"causal_mask({T}) has shape {tuple(got.shape)}; it should be ({T}, {T}): "
                             "one row per query position, one column per key position.")
    if got.dtype != torch.bool:
        values = set(got.flatten().tolist())
        if not values <= {0, 1, 0.0, 1.0}:
            raise ExerciseFailed(f"causal_mask({T}) contains values other than 0 and 1: {sorted(values)[:5]}. "
                                 "It should say yes/no for every (query, key) pair.")
        raise ExerciseFailed("the pattern of ones and zeros is what matters, but return booleans "
                             "(dtype torch.bool: True = may look), e.g. with `.bool()` or `dtype=torch.bool`.")
    return got


def _test_causal_mask(fn):
    for T in (4, 1, 7):
        got = _as_bool_mask(fn(T), T)
        expected = library_mask(T, T)
        if torch.equal(got, expected):
            continue
        if torch.equal(got, ~expected):
            raise ExerciseFailed(f"causal_mask({T}) is upside down: True should mean 'may look'. "
                                 "Hint: flip it.")
        if torch.equal(got, expected.T):
            raise ExerciseFailed(f"causal_mask({T}) lets each position look at the future, not the past. "
                                 "Hint: rows are queries, columns are keys; row t may see columns 0..t.")
        if torch.equal(got, torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1)):
            raise ExerciseFailed(f"in causal_mask({T}) a position may not look at itself. "
                                 "Hint: the diagonal (a token and itself) should be True.")
        wrong = (got != expected).nonzero()[0].tolist()
        raise ExerciseFailed(f"causal_mask({T}) is wrong at row {wrong[0]}, column {wrong[1]} "
                             f"(you have {bool(got[wrong[0], wrong[1]])}). Hint: query row t may look at key "
                             "columns 0, 1, ..., t and nothing after.")


def check_causal_mask(causal_mask) -> bool:
    """Checks causal_mask(T) -> (T, T) booleans, True where a query position may look at a key position."""
    return run_check("causal_mask", causal_mask, reference("lesson05", "causal_mask"), _test_causal_mask)


def _head_case(seed=0, T=5, C=6, D=4):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, generator=g) for shape in ((T, C), (C, D), (C, D), (C, D))]


def _torch_head(x, Wq, Wk, Wv):
    """PyTorch's own causal attention (the one course_lib.model calls): (output, pattern). It returns
    only the output; with the identity matrix as the values, that output is the pattern."""
    q, k, v = x @ Wq, x @ Wk, x @ Wv
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    pattern = F.scaled_dot_product_attention(q, k, torch.eye(len(x)), is_causal=True)
    return out, pattern


def _test_attention_head(fn):
    x, Wq, Wk, Wv = _head_case()
    result = fn(x, Wq, Wk, Wv)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise ExerciseFailed("return two things: (output, pattern).")
    out, pattern = result
    exp_out, exp_pattern = _torch_head(x, Wq, Wk, Wv)
    T, D = exp_out.shape
    if not isinstance(pattern, torch.Tensor):
        raise ExerciseFailed(f"the pattern should be a torch tensor, not a {type(pattern).__name__}.")
    if pattern.shape == (T, T):
        if (pattern.triu(diagonal=1).abs() > 1e-6).any():
            raise ExerciseFailed("the pattern puts weight on future positions (above the diagonal). "
                                 "Hint: hide them with the causal mask before the softmax.")
        q, k = x @ Wq, x @ Wk
        mask = library_mask(T, T)
        unscaled = (q @ k.T).masked_fill(~mask, float("-inf")).softmax(-1)
        if torch.allclose(pattern, unscaled, atol=1e-5):
            raise ExerciseFailed("the pattern is too sharp: the scores were not scaled. "
                                 "Hint: divide the dot products by the square root of the head width D.")
        swapped = (k @ q.T / math.sqrt(D)).masked_fill(~mask, float("-inf")).softmax(-1)
        if torch.allclose(pattern, swapped, atol=1e-5):
            raise ExerciseFailed("queries and keys are swapped: row t should hold query t's scores "
                                 "against every key.")
        masked_after = (q @ k.T / math.sqrt(D)).softmax(-1) * mask
        if torch.allclose(pattern, masked_after, atol=1e-5):
            raise ExerciseFailed("the mask was applied after the softmax. Hint: set the future scores to -inf "
                                 "before the softmax, so each row still adds up to 1.")
        sums = pattern.sum(dim=-1)
        if not torch.allclose(sums, torch.ones(T), atol=1e-4):
            if torch.allclose(pattern.sum(dim=0), torch.ones(T), atol=1e-4):
                raise ExerciseFailed("the pattern's columns add up to 1, not its rows. "
                                     "Hint: softmax over the keys, the last dimension.")
            raise ExerciseFailed(f"the pattern's rows add up to {[round(s, 3) for s in sums.tolist()]}; each "
                                 "row is a set of weights and must add up to 1. Hint: softmax.")
    compare_tensors("the pattern", pattern, exp_pattern,
                    hint="scores = queries times keys (transposed), scaled, masked, then softmax over each row.")
    compare_tensors("the output", out, exp_out,
                    hint="the pattern is right; the output is the pattern's weighted sum of the values.")
    # A second case with other sizes, so nothing is hard-coded.
    x, Wq, Wk, Wv = _head_case(seed=1, T=9, C=8, D=2)
    out, pattern = fn(x, Wq, Wk, Wv)
    exp_out, exp_pattern = _torch_head(x, Wq, Wk, Wv)
    compare_tensors("the pattern for 9 tokens and head width 2", pattern, exp_pattern,
                    hint="take T and D from the inputs' shapes, not fixed numbers.")
    compare_tensors("the output for 9 tokens and head width 2", out, exp_out,
                    hint="take T and D from the inputs' shapes, not fixed numbers.")


def check_attention_head(attention_head) -> bool:
    """Checks attention_head(x (T, C), Wq, Wk, Wv (C, D)) -> (output (T, D), pattern (T, T))."""
    return run_check("attention_head", attention_head, reference("lesson05", "attention_head"), _test_attention_head)
