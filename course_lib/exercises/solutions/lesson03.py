"""Lesson 03 · cross-entropy and one gradient step: the reference solutions (instructor edition only)."""
import torch
import torch.nn.functional as F


def cross_entropy_solution(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the N examples of -log(probability given to the true next token)."""
    probs = logits.softmax(dim=-1)  # (N, V)
    p_true = probs[torch.arange(len(targets)), targets]  # (N,)
    return -p_true.log().mean()


def gradient_step_solution(W: torch.Tensor, x: torch.Tensor, y: torch.Tensor, lr: float) -> float:
    """One step of gradient descent on the neural bigram: W[x] are the logits for the token after x."""
    loss = F.cross_entropy(W[x], y)
    loss.backward()
    with torch.no_grad():
        W -= lr * W.grad
    W.grad = None
    return loss.item()
