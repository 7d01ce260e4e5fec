"""Lesson 12 · the logit lens and the induction score: the reference solutions (instructor edition only)."""
import torch


def lens_solution(resid_post, weight, bias, unembedding, eps=1e-5):
    """(L, B, T, C) residual streams -> (L, B, T, V) logits: the final layer norm, each vector with
    its own mean and variance, then the output layer (unembedding (V, C))."""
    mean = resid_post.mean(dim=-1, keepdim=True)
    var = resid_post.var(dim=-1, keepdim=True, unbiased=False)
    normed = (resid_post - mean) / torch.sqrt(var + eps) * weight + bias
    return normed @ unembedding.T


def induction_score_solution(pattern, length):
    """(H, T, T) attention of one layer on a text repeated twice (T = 2 * length) -> (H,): the
    average weight a token of the second copy puts on the token after its earlier occurrence."""
    q = torch.arange(length, 2 * length)
    return pattern[:, q, q - length + 1].mean(dim=-1)
