"""Lesson 06 · The transformer block: checkers.

    from course_lib.exercises import lesson06
    lesson06.check_layer_norm(layer_norm)
    lesson06.check_block_forward(block_forward)
"""
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from ..model import Block
from .core import ExerciseFailed, compare_tensors, run_check
from .reference import reference


# -- checkers --------------------------------------------------------------------------------------

def _ln_case(seed=0, shape=(2, 3, 8)):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g) * 3 + 2
    weight = 1 + 0.5 * torch.randn(shape[-1], generator=g)
    bias = 0.5 * torch.randn(shape[-1], generator=g)
    return x, weight, bias


def _test_layer_norm(fn):
    x, weight, bias = _ln_case()
    got = fn(x, weight, bias)
    expected = F.layer_norm(x, (x.size(-1),), weight, bias, eps=1e-5)
    if isinstance(got, torch.Tensor) and got.shape == expected.shape:
        near = lambda a: torch.allclose(got, a, atol=1e-4)
        mean = x.mean(-1, keepdim=True)
        unbiased = (x - mean) / torch.sqrt(x.var(-1, keepdim=True, unbiased=True) + 1e-5) * weight + bias
        if near(unbiased):
            raise ExerciseFailed("very close, but the variance is PyTorch's default 'unbiased' one (divided by "
                                 "C - 1). Layer norm uses the plain average of squared deviations: "
                                 "var(..., unbiased=False).")
        no_affine = F.layer_norm(x, (x.size(-1),), eps=1e-5)
        if near(no_affine):
            raise ExerciseFailed("the normalising is right, but weight and bias were not used. Hint: multiply "
                                 "by weight, then add bias.")
        for dim in (0, 1):
            m = x.mean(dim, keepdim=True)
            v = x.var(dim, keepdim=True, unbiased=False)
            if near((x - m) / torch.sqrt(v + 1e-5) * weight + bias):
                raise ExerciseFailed(f"you normalised along dimension {dim}. Layer norm works on each vector "
                                     "on its own: take the mean and variance along the last dimension (dim=-1).")
        if near((x - mean) / (x.var(-1, keepdim=True, unbiased=False) + 1e-5) * weight + bias):
            raise ExerciseFailed("you divided by the variance; divide by the standard deviation, its square root.")
    compare_tensors("layer_norm(x)", got, expected,
                    hint="for each vector (the last dimension): subtract its mean, divide by sqrt(variance + eps), "
                         "then multiply by weight and add bias.")
    # Whatever weight and bias are, each output vector (before the scale) has mean 0 and variance 1.
    x, weight, bias = _ln_case(seed=1, shape=(5, 16))
    compare_tensors("layer_norm on a (5, 16) input", fn(x, weight, bias),
                    F.layer_norm(x, (16,), weight, bias, eps=1e-5),
                    hint="it should work for any number of dimensions in front of the last one.")


def check_layer_norm(layer_norm) -> bool:
    """Checks layer_norm(x (..., C), weight (C,), bias (C,), eps=1e-5) against torch.nn.functional.layer_norm."""
    return run_check("layer_norm", layer_norm, reference("lesson06", "layer_norm"), _test_layer_norm)


class _Named(torch.nn.Module):
    """A sub-layer for the block check that can tell which input it was given."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _block_parts(C=4):
    # Simple, distinguishable sub-layers: each check failure can say which one was skipped or misplaced.
    ln1 = _Named(lambda x: x - x.mean(-1, keepdim=True))
    attn = _Named(lambda x: 2 * x + 1)
    ln2 = _Named(lambda x: x / (x.abs().max(-1, keepdim=True).values + 1))
    mlp = _Named(lambda x: x ** 2)
    return ln1, attn, ln2, mlp


def _test_block_forward(fn):
    ln1, attn, ln2, mlp = _block_parts()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 4, generator=g)
    x_before = x.clone()
    got = fn(x, ln1, attn, ln2, mlp)
    if not torch.equal(x, x_before):
        raise ExerciseFailed("your function changed its input x in place; build new tensors "
                             "(x = x + ..., not x += ...).")
    # course_lib.model.Block's own forward, reading these sub-layers instead of its own
    expected = Block.forward(SimpleNamespace(ln1=ln1, attn=lambda h, kv_cache=None: attn(h), ln2=ln2, mlp=mlp), x)
    if isinstance(got, torch.Tensor) and got.shape == expected.shape:
        near = lambda a: torch.allclose(got, a, atol=1e-5)
        variants = {
            "the input x is not added back. Hint: each sub-layer's result is *added* to the residual "
            "stream: x plus what the sub-layer computed.": mlp(ln2(attn(ln1(x)))),
            "the attention part is right, but the feed-forward result replaces the stream instead of being "
            "added to it.": mlp(ln2(x + attn(ln1(x)))),
            "the sub-layers read the stream without their layer norms. Hint: attention reads ln1(x), the "
            "feed-forward network reads ln2(x).": (lambda h: h + mlp(h))(x + attn(x)),
            "the layer norm is applied after the addition (post-norm). In this GPT (pre-norm) each sub-layer "
            "reads a normalised copy, and the stream itself is never normalised.":
                (lambda h: ln2(h + mlp(h)))(ln1(x + attn(x))),
            "both sub-layers read the original x. Hint: the feed-forward network reads the stream *after* "
            "attention has added its part.": x + attn(ln1(x)) + mlp(ln2(x)),
            "ln1 and ln2 are swapped: attention reads ln1, the feed-forward network ln2.":
                (lambda h: h + mlp(ln1(h)))(x + attn(ln2(x))),
        }
        for message, value in variants.items():
            if near(value):
                raise ExerciseFailed(message)
    compare_tensors("the block's output", got, expected,
                    hint="two steps: add attention's result (it reads ln1 of the stream), then add the "
                         "feed-forward result (it reads ln2 of the updated stream).")


def check_block_forward(block_forward) -> bool:
    """Checks block_forward(x, ln1, attn, ln2, mlp) -> the output of one pre-norm transformer block."""
    return run_check("block_forward", block_forward, reference("lesson06", "block_forward"), _test_block_forward)
