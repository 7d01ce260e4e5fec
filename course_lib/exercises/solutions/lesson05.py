"""Lesson 05 · the causal mask and one attention head: the reference solutions (instructor edition only)."""
import math

import torch


def causal_mask_solution(T: int) -> torch.Tensor:
    """(T, T) booleans: True where query row t may look at key column s, i.e. s <= t."""
    return torch.tril(torch.ones(T, T, dtype=torch.bool))


def attention_head_solution(x, Wq, Wk, Wv):
    """One causal attention head. x (T, C); Wq, Wk, Wv (C, D). Returns (output (T, D), pattern (T, T))."""
    q, k, v = x @ Wq, x @ Wk, x @ Wv  # (T, D) each
    scores = q @ k.T / math.sqrt(k.size(-1))  # (T, T): how well each query matches each key
    scores = scores.masked_fill(~causal_mask_solution(x.size(0)), float("-inf"))  # no peeking ahead
    pattern = scores.softmax(dim=-1)  # each row sums to 1
    return pattern @ v, pattern
