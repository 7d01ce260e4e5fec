"""Lesson 03 · Learning from examples: checkers.

    from course_lib.exercises import lesson03
    lesson03.check_cross_entropy(cross_entropy)
    lesson03.check_gradient_step(gradient_step)
"""
import torch
import torch.nn.functional as F

from .core import ExerciseFailed, compare_tensors, run_check
from .reference import reference


# -- checkers --------------------------------------------------------------------------------------

def _logits_and_targets(seed=0, N=6, V=5):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, V, generator=g) * 2, torch.randint(0, V, (N,), generator=g)


def _test_cross_entropy(fn):
    logits, targets = _logits_and_targets()
    logits_before = logits.clone()
    got = fn(logits, targets)
    expected = F.cross_entropy(logits, targets)
    if isinstance(got, (int, float)):
        raise ExerciseFailed("you returned a plain number; return a torch tensor (keep the torch operations, "
                             "do not call .item()), so autograd can follow it later.")
    if not torch.equal(logits, logits_before):
        raise ExerciseFailed("your function changed the logits it was given; compute new tensors instead.")
    if isinstance(got, torch.Tensor) and got.numel() == len(targets) and got.dim() == 1:
        raise ExerciseFailed(f"you returned one loss per example (shape {tuple(got.shape)}); the loss is a single "
                             "number for the whole batch: shape (). Hint: combine the examples' losses.")
    if isinstance(got, torch.Tensor) and got.shape == expected.shape:
        probs = logits.softmax(-1)[torch.arange(len(targets)), targets]
        near = lambda a, b: torch.allclose(a.double(), b.double(), atol=1e-5)
        if near(got, -probs.log().sum()):
            raise ExerciseFailed("your value is N times too big: it is the sum over the examples. "
                                 "Hint: the loss is the average surprise per example.")
        if near(got, probs.log().mean()):
            raise ExerciseFailed("your value has the wrong sign: a loss is never negative. "
                                 "Hint: surprise is minus the log of a probability.")
        if near(got, -probs.mean()) or near(got, 1 - probs.mean()):
            raise ExerciseFailed("your value looks like it uses the probability itself. "
                                 "Hint: the loss uses the logarithm of the probability.")
        if near(got, -logits[torch.arange(len(targets)), targets].mean()):
            raise ExerciseFailed("your value uses the raw scores (logits). "
                                 "Hint: turn the scores into probabilities first (softmax over each row).")
    compare_tensors("the loss", got, expected,
                    hint="softmax along the last dimension (each row), pick each row's true-token probability, "
                         "then -log and the average.")
    # A second, larger case: every position of a (N, V) table must be handled, not just the first rows.
    logits, targets = _logits_and_targets(seed=1, N=40, V=11)
    compare_tensors("the loss on a bigger batch (40 examples, 11 tokens)", fn(logits, targets),
                    F.cross_entropy(logits, targets), hint="do not assume a particular number of rows or columns.")


def check_cross_entropy(cross_entropy) -> bool:
    """Checks cross_entropy(logits (N, V), targets (N,)) -> the mean loss, a tensor of shape ()."""
    return run_check("cross_entropy", cross_entropy, reference("lesson03", "cross_entropy"), _test_cross_entropy)


def _bigram_case(seed=0, V=6, N=10):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(V, V, generator=g)
    x = torch.randint(0, V, (N,), generator=g)
    y = torch.randint(0, V, (N,), generator=g)
    return W, x, y


def _sgd_step(W, x, y, lr) -> float:
    """PyTorch's own plain gradient descent (torch.optim.SGD) on F.cross_entropy(W[x], y):
    one step on W in place; returns the loss before the step."""
    optimizer = torch.optim.SGD([W], lr=lr)
    optimizer.zero_grad()
    loss = F.cross_entropy(W[x], y)
    loss.backward()
    optimizer.step()
    return loss.item()


def _test_gradient_step(fn):
    lr = 0.5
    W0, x, y = _bigram_case()
    W = W0.clone().requires_grad_(True)
    ref = W0.clone().requires_grad_(True)
    got_loss = fn(W, x, y, lr)
    ref_loss = _sgd_step(ref, x, y, lr)
    if not isinstance(W, torch.Tensor) or W.shape != W0.shape:
        raise ExerciseFailed("W must stay a tensor of the same shape; change its numbers in place.")
    if not isinstance(got_loss, (int, float, torch.Tensor)):
        raise ExerciseFailed(f"return the loss as a number, not a {type(got_loss).__name__}.")
    got_loss = float(got_loss)
    if abs(got_loss - ref_loss) > 1e-4:
        raise ExerciseFailed(f"the loss you returned is {got_loss:.4f}, but the loss of W[x] against y before "
                             f"the step is {ref_loss:.4f}. Hint: compute the loss before you change W.")
    with torch.no_grad():
        change = W - W0
        step = ref - W0  # the correct change: -lr * gradient
        if torch.allclose(change, torch.zeros_like(change)):
            raise ExerciseFailed("W did not change. Hint: after backward(), W.grad holds the slope; subtract "
                                 "lr times it from W in place (inside `with torch.no_grad():`).")
        if torch.allclose(change, -step, atol=1e-5):
            raise ExerciseFailed("W moved uphill: the loss would grow. Hint: the gradient points uphill, so go "
                                 "the other way.")
        ratio = (change * step).sum() / (step * step).sum()
        if torch.allclose(change, ratio * step, atol=1e-5) and abs(ratio - 1) > 1e-3:
            raise ExerciseFailed(f"W moved in the right direction but {ratio:.3g} times as far as it should. "
                                 "Hint: the step is the learning rate lr times the gradient.")
    compare_tensors("W after one step", W.detach(), ref.detach(), atol=1e-5,
                    hint="the new W is the old W minus lr times the gradient of the loss.")
    # A second step must not carry the first step's gradient along.
    got_loss2 = fn(W, x, y, lr)
    ref_loss2 = _sgd_step(ref, x, y, lr)
    if abs(float(got_loss2) - ref_loss2) > 1e-4:
        raise ExerciseFailed(f"the second call returned loss {float(got_loss2):.4f} instead of {ref_loss2:.4f}.")
    if not torch.allclose(W.detach(), ref.detach(), atol=1e-5):
        raise ExerciseFailed("the first step was right, but the second one was not. Hint: PyTorch adds new "
                             "gradients to W.grad; clear it after each step (W.grad = None).")
    if got_loss2 >= got_loss:
        raise ExerciseFailed("the loss did not go down after a step.")


def check_gradient_step(gradient_step) -> bool:
    """Checks gradient_step(W, x, y, lr): updates W in place by one step of gradient descent, returns the loss."""
    return run_check("gradient_step", gradient_step, reference("lesson03", "gradient_step"), _test_gradient_step)
