"""How the weights are nudged: AdamW with weight decay on the matrices, and the
learning-rate schedule (a short warmup, then a cosine curve down to a floor).

    >>> optimizer = make_optimizer(model, lr=1e-3, weight_decay=0.1)
    >>> for step in range(max_steps):
    ...     set_lr(optimizer, lr_at(step, max_lr=1e-3, min_lr=1e-4, warmup_steps=100, max_steps=max_steps))
    ...     ...  # forward, backward, optimizer.step(), optimizer.zero_grad()
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


class AdamW:
    """AdamW, written out: the same update as torch.optim.AdamW (Loshchilov & Hutter 2019).

    For every weight w with gradient g, at step t:
        w <- w * (1 - lr * weight_decay)              decoupled weight decay
        m <- beta1 * m + (1 - beta1) * g              running mean of the gradient
        v <- beta2 * v + (1 - beta2) * g^2            running mean of its square
        w <- w - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
    so each weight moves by about lr, in the direction its gradient has pointed lately.

    Used off CUDA: building any torch.optim optimizer imports torch's compiler
    (torch._dynamo), over a second of CPU time at every start. The multi-tensor (foreach)
    operations update all weights with a few calls. `state_dict()` has torch.optim's layout,
    so a run can move between this and torch's fused AdamW (used on CUDA).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        groups = list(params)
        if groups and not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay}
        self.param_groups = [{**defaults, **g, "params": list(g["params"])} for g in groups]
        self.state = {}  # weight -> {"step", "exp_avg" (m), "exp_avg_sq" (v)}

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in params:
                if p not in self.state:
                    self.state[p] = {"step": torch.tensor(0.0), "exp_avg": torch.zeros_like(p),
                                     "exp_avg_sq": torch.zeros_like(p)}
            states = [self.state[p] for p in params]
            grads = [p.grad for p in params]
            m = [s["exp_avg"] for s in states]
            v = [s["exp_avg_sq"] for s in states]
            for s in states:
                s["step"] += 1
            steps = [s["step"].item() for s in states]
            if wd:
                torch._foreach_mul_(params, 1 - lr * wd)
            torch._foreach_lerp_(m, grads, 1 - beta1)
            torch._foreach_mul_(v, beta2)
            torch._foreach_addcmul_(v, grads, grads, 1 - beta2)
            denom = torch._foreach_sqrt(v)
            torch._foreach_div_(denom, [math.sqrt(1 - beta2**t) for t in steps])
            torch._foreach_add_(denom, eps)
            torch._foreach_addcdiv_(params, m, denom, [-lr / (1 - beta1**t) for t in steps])

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.zero_()

    def state_dict(self) -> dict:
        """{"state": {index: {...}}, "param_groups": [...]}, as torch.optim writes it."""
        index, groups = {}, []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(p, len(index))
                ids.append(index[p])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {index[p]: {k: v.clone() for k, v in s.items()} for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict):
        saved = state_dict["param_groups"]
        if [len(g["params"]) for g in saved] != [len(g["params"]) for g in self.param_groups]:
            raise ValueError("the optimiser state belongs to a model with different parameters")
        params = [p for g in self.param_groups for p in g["params"]]
        for group, old in zip(self.param_groups, saved):
            for key in ("lr", "betas", "eps", "weight_decay"):
                if key in old:
                    group[key] = tuple(old[key]) if key == "betas" else old[key]
        self.state = {}
        for i, s in state_dict["state"].items():
            p = params[int(i)]
            self.state[p] = {"step": torch.as_tensor(s["step"], dtype=torch.float32).cpu(),
                             "exp_avg": s["exp_avg"].to(p), "exp_avg_sq": s["exp_avg_sq"].to(p)}


def make_optimizer(model, lr=1e-3, weight_decay=0.1, betas=(0.9, 0.95), device_type="cpu"):
    """AdamW over `param_groups`: torch's fused kernel on CUDA (one launch for all weights),
    the written-out `AdamW` above elsewhere."""
    groups = param_groups(model, weight_decay)
    if device_type == "cuda":
        return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), fused=True)
    return AdamW(groups, lr=lr, betas=betas)


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


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
