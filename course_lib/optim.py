"""How the weights are nudged: AdamW with weight decay on the matrices, and the
learning-rate schedule (a short warmup, then a cosine curve down to a floor).

    >>> optimizer = make_optimizer(model, lr=1e-3, weight_decay=0.1)
    >>> for step in range(max_steps):
    ...     set_lr(optimizer, lr_at(step, max_lr=1e-3, min_lr=1e-4, warmup_steps=100, max_steps=max_steps))
    ...     ...  # forward, backward, optimizer.step()
"""
import math

import torch


def param_groups(model: torch.nn.Module, weight_decay: float) -> list:
    """Two groups: matrices (dim >= 2: linear layers, embeddings) decay; the rest does not.

    Weight decay pulls weights towards zero a little every step, which keeps the big
    matrices from growing without need. Biases and layer-norm gains are vectors: shrinking
    them does not regularise anything useful, so they are left alone (as in GPT-2/nanoGPT).
    The tied output layer is the token embedding, so it appears (and decays) once.
    """
    decay, no_decay = [], []
    for p in model.parameters():  # parameters() lists a tied weight once
        if p.requires_grad:
            (decay if p.dim() >= 2 else no_decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def make_optimizer(model, lr=1e-3, weight_decay=0.1, betas=(0.9, 0.95), device_type="cpu", fused=None):
    """AdamW over `param_groups`. On CUDA the fused kernel (one launch for all weights) is used.

    fused=None chooses: fused on CUDA, the multi-tensor ("foreach") kernel elsewhere.
    """
    if fused is None:
        fused = device_type == "cuda"
    kwargs = {"fused": True} if fused else {"foreach": True}
    return torch.optim.AdamW(param_groups(model, weight_decay), lr=lr, betas=tuple(betas), **kwargs)


def lr_at(step: int, max_lr: float, min_lr: float, warmup_steps: int, max_steps: int) -> float:
    """The learning rate for optimiser step `step` (counting from 0).

    Warmup: rises linearly from max_lr / warmup_steps to max_lr over the first warmup_steps
    (big early steps on random weights are unstable). Then a half cosine from max_lr down to
    min_lr, reached at max_steps; min_lr after that.
    """
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step >= max_steps:
        return min_lr
    progress = (step - warmup_steps) / max(1, max_steps - warmup_steps)  # 0 -> 1
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (max_lr - min_lr)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
