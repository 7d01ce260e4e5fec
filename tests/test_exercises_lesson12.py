"""The checkers of lesson 12 reject typical wrong answers with a message that says what is
wrong (without the answer). What every checker promises is tested in test_exercise_checkers.py."""
import pytest
import torch
import torch.nn.functional as F

from checker_helpers import verdict
from course_lib import interpret
from course_lib.exercises import lesson12
from course_lib.exercises.solutions import lesson12 as sol12
from course_lib.model import GPT, GPTConfig

pytestmark = pytest.mark.usefixtures("learner_mode")


def test_lens_reference_equals_the_library_on_a_model():
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=20, block_size=8, n_layer=3, n_head=2, n_embd=16)).eval()
    idx = torch.randint(20, (2, 8))
    tr = m.trace(idx)
    ours = sol12.lens_solution(tr.resid_post, m.ln_f.weight, m.ln_f.bias, m.lm_head.weight)
    assert torch.allclose(ours, interpret.lens_logits(m, idx), atol=1e-4)


def _last_layer_stats(resid, w, b, U):
    last = resid[-1:]
    mean, var = last.mean(-1, keepdim=True), last.var(-1, keepdim=True, unbiased=False)
    return ((resid - mean) / torch.sqrt(var + 1e-5) * w + b) @ U.T


@pytest.mark.parametrize("wrong,message", [
    (_last_layer_stats, "last layer's mean and variance"),
    (lambda resid, w, b, U: resid @ U.T, "final layer norm"),
    (lambda resid, w, b, U: ((resid - resid.mean(-1, keepdim=True)) / torch.sqrt(resid.var(-1, keepdim=True) + 1e-5)
                             * w + b) @ U.T, "unbiased"),
    (lambda resid, w, b, U: F.layer_norm(resid, (resid.size(-1),), eps=1e-5) @ U.T, "weight and bias"),
    (lambda resid, w, b, U: (F.layer_norm(resid, (resid.size(-1),), w, b) @ U.T).softmax(-1), "probabilities"),
    (lambda resid, w, b, U: F.layer_norm(resid, (resid.size(-1),), w, b), "shape"),
])
def test_lens_wrong_answers(wrong, message, capsys):
    ok, out = verdict(lesson12.check_lens, wrong, capsys)
    assert not ok and message in out, out


def test_induction_score_reference_equals_the_library():
    from course_lib.induction import induction_scores

    p = torch.rand(2, 3, 4, 10, 10).softmax(-1)
    ours = torch.stack([torch.stack([sol12.induction_score_solution(p[l, b], 5) for b in range(3)]).mean(0)
                        for l in range(2)])
    assert torch.allclose(ours, induction_scores(p, 5), atol=1e-6)


@pytest.mark.parametrize("wrong,message", [
    (lambda p, n: p[:, torch.arange(n, 2 * n), torch.arange(0, n)].mean(-1), "earlier occurrence of the same token"),
    (lambda p, n: p[:, torch.arange(1, 2 * n), torch.arange(0, 2 * n - 1)].mean(-1), "previous-token score"),
    (lambda p, n: p[:, torch.arange(n + 1, 2 * n), torch.arange(2, n + 1)].mean(-1), "first token of the second copy"),
    (lambda p, n: p[:, torch.arange(n, 2 * n), torch.arange(n, 2 * n)].mean(-1), "on itself"),
    (lambda p, n: p[:, torch.arange(5, 10), torch.arange(1, 6)].mean(-1), "longer text"),
    (lambda p, n: p[:, torch.arange(n, 2 * n), torch.arange(1, n + 1)], "shape"),
])
def test_induction_score_wrong_answers(wrong, message, capsys):
    ok, out = verdict(lesson12.check_induction_score, wrong, capsys)
    assert not ok and message in out, out
