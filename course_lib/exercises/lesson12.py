"""Lesson 12 · Looking inside: checkers.

    from course_lib.exercises import lesson12
    lesson12.check_lens(lens)
    lesson12.check_induction_score(induction_score)
"""
import torch
import torch.nn.functional as F

from ..induction import induction_scores
from .core import ExerciseFailed, compare_tensors, run_check
from .reference import reference


# -- checkers --------------------------------------------------------------------------------------

def _lens_case(seed=0):
    g = torch.Generator().manual_seed(seed)
    L, B, T, C, V = 4, 2, 3, 8, 11
    # The stream grows from layer to layer, as in a real GPT: each layer has its own scale.
    scale = torch.tensor([1.0, 3.0, 7.0, 15.0]).view(L, 1, 1, 1)
    resid = torch.randn(L, B, T, C, generator=g) * scale + torch.randn(L, 1, 1, 1, generator=g)
    weight = 1 + 0.3 * torch.randn(C, generator=g)
    bias = 0.3 * torch.randn(C, generator=g)
    unembedding = torch.randn(V, C, generator=g)
    return resid, weight, bias, unembedding


def _test_lens(fn):
    resid, weight, bias, unembedding = _lens_case()
    got = fn(resid, weight, bias, unembedding)
    expected = F.layer_norm(resid, (resid.size(-1),), weight, bias, eps=1e-5) @ unembedding.T
    if isinstance(got, torch.Tensor) and got.shape == expected.shape:
        near = lambda a: torch.allclose(got, a, atol=1e-3, rtol=1e-3)
        last = resid[-1:]
        m, v = last.mean(-1, keepdim=True), last.var(-1, keepdim=True, unbiased=False)
        if near(((resid - m) / torch.sqrt(v + 1e-5) * weight + bias) @ unembedding.T):
            raise ExerciseFailed("the last layer is right, but every layer was normalised with the last layer's "
                                 "mean and variance. The stream has a different size after each block: each "
                                 "vector needs its own statistics (the classic logit-lens bug).")
        if near(resid @ unembedding.T):
            raise ExerciseFailed("the streams went straight into the output layer. The model always reads them "
                                 "through its final layer norm first; so must the lens.")
        unbiased = (resid - resid.mean(-1, keepdim=True)) / torch.sqrt(resid.var(-1, keepdim=True) + 1e-5)
        if near((unbiased * weight + bias) @ unembedding.T):
            raise ExerciseFailed("very close, but the variance is the 'unbiased' one (divided by C - 1); layer "
                                 "norm uses the plain average: var(..., unbiased=False).")
        if near(F.layer_norm(resid, (resid.size(-1),), eps=1e-5) @ unembedding.T):
            raise ExerciseFailed("the normalising is right, but the layer norm's weight and bias were not used.")
        if near(torch.softmax(expected, -1)):
            raise ExerciseFailed("these are probabilities; return the logits (scores before softmax).")
    compare_tensors("lens(resid_post, ...)", got, expected,
                    hint="for every vector (the last dimension) of every layer: subtract its mean, divide by "
                         "sqrt(variance + eps), multiply by weight, add bias; then multiply by the unembedding "
                         "(V, C), transposed.")
    # On a real (small, random) GPT, against the library's lens.
    from ..interpret import lens_logits
    from ..model import GPT, GPTConfig

    with torch.random.fork_rng():  # the same small model every time, without touching the lesson's seed
        torch.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=17, block_size=8, n_layer=3, n_head=2, n_embd=16)).eval()
    idx = torch.randint(17, (2, 8), generator=torch.Generator().manual_seed(1))
    tr = model.trace(idx)
    with torch.no_grad():
        got = fn(tr.resid_post, model.ln_f.weight, model.ln_f.bias, model.lm_head.weight)
    compare_tensors("lens on a GPT's trace", got, lens_logits(model, idx), atol=1e-4,
                    hint="it should give course_lib.interpret.lens_logits on a real model's residual streams.")


def check_lens(lens) -> bool:
    """Checks lens(resid_post (L, B, T, C), weight (C,), bias (C,), unembedding (V, C)) -> (L, B, T, V)."""
    return run_check("lens", lens, reference("lesson12", "lens"), _test_lens)


def _pattern_case(length=5, H=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    T = 2 * length
    scores = torch.randn(H, T, T, generator=g) * 2
    scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    return scores.softmax(-1)


def _test_induction_score(fn):
    length = 5
    pattern = _pattern_case(length)
    got = fn(pattern, length)
    expected = induction_scores(pattern[None, None], length)[0]  # the library's, for one layer
    if isinstance(got, torch.Tensor) and got.shape == expected.shape:
        near = lambda a: torch.allclose(got, a, atol=1e-5)
        q = torch.arange(length, 2 * length)
        if near(pattern[:, q, q - length].mean(-1)):
            raise ExerciseFailed("you measured the weight on the earlier occurrence of the same token. An "
                                 "induction head looks one step further: at the token that came *after* it.")
        if near(pattern[:, q - length, q - length].mean(-1)) or near(pattern[:, q, q].mean(-1)):
            raise ExerciseFailed("that is the weight each token puts on itself; look back one copy, one step on.")
        q1 = torch.arange(1, length)
        if near(pattern[:, q1, q1 - 1].mean(-1)) or near(pattern[:, torch.arange(1, 2 * length),
                                                                 torch.arange(0, 2 * length - 1)].mean(-1)):
            raise ExerciseFailed("that is the previous-token score (the token just before). Hint: the query "
                                 "sits in the second copy; its key is `length` positions back, plus one.")
        q2 = torch.arange(length + 1, 2 * length)
        if near(pattern[:, q2, q2 - length + 1].mean(-1)):
            raise ExerciseFailed("the first token of the second copy is left out; average over all `length` "
                                 "positions of the second copy.")
    compare_tensors("induction_score(pattern, length)", got, expected,
                    hint="for each query t in the second copy (t = length .. 2*length - 1), read the weight on "
                         "key t - length + 1, and average over those queries: one number per head.")
    other = _pattern_case(length=7, H=2, seed=1)
    compare_tensors("induction_score on a longer text", fn(other, 7), induction_scores(other[None, None], 7)[0],
                    hint="use the `length` argument; do not assume a fixed length.")


def check_induction_score(induction_score) -> bool:
    """Checks induction_score(pattern (H, T, T), length) -> (H,) against course_lib.induction."""
    return run_check("induction_score", induction_score, reference("lesson12", "induction_score"),
                     _test_induction_score)
