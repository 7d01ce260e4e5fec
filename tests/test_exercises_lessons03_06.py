"""The checkers of lessons 03-06 reject typical wrong answers with a message that says
what is wrong (without the answer). What every checker promises (the reference passes, an
unfinished exercise or a crash is reported) is tested in test_exercise_checkers.py."""
import math

import pytest
import torch
import torch.nn.functional as F

from checker_helpers import verdict
from course_lib.exercises import lesson03, lesson04, lesson05, lesson06
from course_lib.exercises.solutions import lesson04 as sol04, lesson05 as sol05, lesson06 as sol06

pytestmark = pytest.mark.usefixtures("learner_mode")


# -- lesson 03 ---------------------------------------------------------------------------------------

def _probs(logits, targets):
    return logits.softmax(-1)[torch.arange(len(targets)), targets]


@pytest.mark.parametrize("wrong,expected", [
    (lambda lg, t: -_probs(lg, t).log().sum(), "sum over the examples"),
    (lambda lg, t: _probs(lg, t).log().mean(), "wrong sign"),
    (lambda lg, t: -_probs(lg, t).log(), "one loss per example"),
    (lambda lg, t: -_probs(lg, t).mean(), "logarithm"),
    (lambda lg, t: -lg[torch.arange(len(t)), t].mean(), "raw scores"),
    (lambda lg, t: F.cross_entropy(lg, t).item(), "plain number"),
    (lambda lg, t: -lg.softmax(0)[torch.arange(len(t)), t].log().mean(), "different values"),
])
def test_cross_entropy_rejects(wrong, expected, capsys):
    ok, out = verdict(lesson03.check_cross_entropy, wrong, capsys)
    assert not ok
    assert expected in out
    assert "softmax(dim=-1)" not in out  # the answer is not given away


def _step(sign=1.0, scale=1.0, clear=True):
    def step(W, x, y, lr):
        loss = F.cross_entropy(W[x], y)
        loss.backward()
        with torch.no_grad():
            W -= sign * scale * lr * W.grad
        if clear:
            W.grad = None
        return loss.item()
    return step


def _no_update(W, x, y, lr):
    loss = F.cross_entropy(W[x], y)
    loss.backward()
    W = W - lr * W.grad  # rebinds the name; the caller's W is unchanged
    return loss.item()


@pytest.mark.parametrize("wrong,expected", [
    (_step(sign=-1.0), "uphill"),
    (_step(scale=2.0), "2 times as far"),
    (_step(clear=False), "W.grad = None"),
    (_no_update, "W did not change"),
    (lambda W, x, y, lr: 0.0, "before the step"),
])
def test_gradient_step_rejects(wrong, expected, capsys):
    ok, out = verdict(lesson03.check_gradient_step, wrong, capsys)
    assert not ok
    assert expected in out


# -- lesson 04 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("wrong,expected", [
    (lambda a, b: (a * b).sum(), "the dot product"),
    (lambda a, b: (a * b).sum() / a.norm(), "*both* vectors"),
    (lambda a, b: (a * b).sum() / (a.norm() * b.norm()) if len(a) == 2 else torch.tensor(0.0),
     "the similarity of a vector with itself"),
    (lambda a, b: a.norm() - b.norm(), "different values"),
])
def test_cosine_similarity_rejects(wrong, expected, capsys):
    ok, out = verdict(lesson04.check_cosine_similarity, wrong, capsys)
    assert not ok
    assert expected in out


def _by_dot(E, i, k):
    d = E @ E[i]
    d[i] = -math.inf
    return d.topk(k).indices


def _by_distance(E, i, k):
    d = -(E - E[i]).norm(dim=1)
    d[i] = -math.inf
    return d.topk(k).indices


def _with_itself(E, i, k):
    u = F.normalize(E, dim=1)
    return (u @ u[i]).topk(k).indices


def _values(E, i, k):
    u = F.normalize(E, dim=1)
    s = u @ u[i]
    s[i] = -math.inf
    return s.topk(k).values


def _reversed(E, i, k):
    return sol04.nearest_neighbours_solution(E.clone(), i, k).flip(0)


def _changes_E(E, i, k):
    E /= E.norm(dim=1, keepdim=True)
    return sol04.nearest_neighbours_solution(E.clone(), i, k)


@pytest.mark.parametrize("wrong,expected", [
    (_by_dot, "plain dot product"),
    (_by_distance, "compare directions"),
    (_with_itself, "leave the word itself out"),
    (_values, "row *indices*"),
    (_reversed, "wrong order"),
    (_changes_E, "changed the table"),
    (lambda E, i, k: torch.arange(3), "shape (3,)"),
])
def test_nearest_neighbours_rejects(wrong, expected, capsys):
    ok, out = verdict(lesson04.check_nearest_neighbours, wrong, capsys)
    assert not ok
    assert expected in out


# -- lesson 05 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("wrong,expected", [
    (lambda T: ~torch.tril(torch.ones(T, T, dtype=torch.bool)), "upside down"),
    (lambda T: torch.triu(torch.ones(T, T, dtype=torch.bool)), "future"),
    (lambda T: torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1), "look at itself"),
    (lambda T: torch.tril(torch.ones(T, T)), "return booleans"),
    (lambda T: torch.ones(T, dtype=torch.bool), "shape"),
    (lambda T: torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=1), "row 0, column 1"),
])
def test_causal_mask_rejects(wrong, expected, capsys):
    ok, out = verdict(lesson05.check_causal_mask, wrong, capsys)
    assert not ok
    assert expected in out


def _head(scale=True, mask=True, mask_after=False, dim=-1, swap=False):
    def head(x, Wq, Wk, Wv):
        q, k, v = x @ Wq, x @ Wk, x @ Wv
        if swap:
            q, k = k, q
        s = q @ k.T
        if scale:
            s = s / math.sqrt(k.size(-1))
        T = x.size(0)
        allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))
        if mask and not mask_after:
            s = s.masked_fill(~allowed, -math.inf)
        p = s.softmax(dim)
        if mask_after:
            p = p * allowed
        return p @ v, p
    return head


@pytest.mark.parametrize("wrong,expected", [
    (_head(scale=False), "square root"),
    (_head(mask=False), "future positions"),
    (_head(mask_after=True), "after the softmax"),
    (_head(swap=True), "swapped"),
    (lambda x, Wq, Wk, Wv: _head()(x, Wq, Wk, Wv)[0], "(output, pattern)"),
    (lambda x, Wq, Wk, Wv: (x @ Wv, _head()(x, Wq, Wk, Wv)[1]), "weighted sum of the values"),
])
def test_attention_head_rejects(wrong, expected, capsys):
    ok, out = verdict(lesson05.check_attention_head, wrong, capsys)
    assert not ok
    assert expected in out


def test_attention_head_reports_columns_summing_to_one(capsys):
    def by_columns(x, Wq, Wk, Wv):
        q, k, v = x @ Wq, x @ Wk, x @ Wv
        T = x.size(0)
        s = (q @ k.T / math.sqrt(k.size(-1))).masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool)), -math.inf)
        p = s.softmax(0).nan_to_num(0.0)
        return p @ v, p
    ok, out = verdict(lesson05.check_attention_head, by_columns, capsys)
    assert not ok
    assert "add up to" in out


# -- lesson 06 ---------------------------------------------------------------------------------------

def _ln(unbiased=False, affine=True, dim=-1, sqrt=True):
    def ln(x, weight, bias, eps=1e-5):
        m = x.mean(dim, keepdim=True)
        v = x.var(dim, keepdim=True, unbiased=unbiased)
        y = (x - m) / (torch.sqrt(v + eps) if sqrt else (v + eps))
        return y * weight + bias if affine else y
    return ln


@pytest.mark.parametrize("wrong,expected", [
    (_ln(unbiased=True), "unbiased"),
    (_ln(affine=False), "weight and bias were not used"),
    (_ln(dim=0), "along dimension 0"),
    (_ln(sqrt=False), "standard deviation"),
    (lambda x, w, b, eps=1e-5: x.mean(-1), "shape"),
])
def test_layer_norm_rejects(wrong, expected, capsys):
    ok, out = verdict(lesson06.check_layer_norm, wrong, capsys)
    assert not ok
    assert expected in out


def _in_place(x, ln1, attn, ln2, mlp):
    x += attn(ln1(x))
    x += mlp(ln2(x))
    return x


@pytest.mark.parametrize("wrong,expected", [
    (lambda x, ln1, attn, ln2, mlp: mlp(ln2(attn(ln1(x)))), "not added back"),
    (lambda x, ln1, attn, ln2, mlp: mlp(ln2(x + attn(ln1(x)))), "replaces the stream"),
    (lambda x, ln1, attn, ln2, mlp: (lambda h: h + mlp(h))(x + attn(x)), "without their layer norms"),
    (lambda x, ln1, attn, ln2, mlp: (lambda h: ln2(h + mlp(h)))(ln1(x + attn(x))), "post-norm"),
    (lambda x, ln1, attn, ln2, mlp: x + attn(ln1(x)) + mlp(ln2(x)), "original x"),
    (lambda x, ln1, attn, ln2, mlp: (lambda h: h + mlp(ln1(h)))(x + attn(ln2(x))), "swapped"),
    (_in_place, "in place"),
    (lambda x, ln1, attn, ln2, mlp: x + attn(ln1(x)), "different values"),
])
def test_block_forward_rejects(wrong, expected, capsys):
    ok, out = verdict(lesson06.check_block_forward, wrong, capsys)
    assert not ok
    assert expected in out


def test_block_solution_matches_the_library_block():
    from course_lib.model import Block, GPTConfig

    torch.manual_seed(0)
    block = Block(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8)).eval()
    x = torch.randn(2, 5, 8)
    mine = sol06.block_forward_solution(x, block.ln1, block.attn, block.ln2, block.mlp)
    assert torch.allclose(mine, block(x), atol=1e-6)


def test_layer_norm_solution_matches_torch():
    x = torch.randn(3, 7, 16)
    ln = torch.nn.LayerNorm(16)
    torch.nn.init.normal_(ln.weight)
    torch.nn.init.normal_(ln.bias)
    assert torch.allclose(sol06.layer_norm_solution(x, ln.weight, ln.bias), ln(x), atol=1e-5)


def test_attention_head_solution_matches_the_library():
    """One head of the library's attention equals the reference head on the same slices of weights."""
    from course_lib.model import CausalSelfAttention, GPTConfig

    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=1, n_embd=8, bias=False)
    attn = CausalSelfAttention(cfg).eval()
    x = torch.randn(6, 8)
    Wq, Wk, Wv = attn.qkv.weight.split(8, dim=0)
    out, pattern = sol05.attention_head_solution(x, Wq.T, Wk.T, Wv.T)
    lib_out, lib_pattern = attn.forward_explicit(x[None])
    assert torch.allclose(pattern, lib_pattern[0, 0], atol=1e-6)
    assert torch.allclose(attn.proj(out), lib_out[0], atol=1e-5)


def test_recorded_neighbours_are_the_reference_answers():
    """lesson04's checker compares with neighbours recorded from the reference solution."""
    E = lesson04._table()
    for (i, k), recorded in lesson04.NEIGHBOURS.items():
        assert sol04.nearest_neighbours_solution(E.clone(), i, k).tolist() == recorded
