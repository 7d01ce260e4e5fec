"""The output layer and the cross-entropy in one pass, without keeping the logits.

At GPT-2's vocabulary the logits are the largest tensor of training: 32 x 1024 x 50,304
numbers, 6.6 GB in fp32, written and read several times. `linear_cross_entropy` computes
them a chunk of rows at a time and, while it has each chunk, also the gradients with
respect to the hidden vectors and the output weights; only those (the size of the inputs)
are kept for the backward pass. Same loss, same gradients, same number of operations as
`F.cross_entropy(h @ W.T, y)`, far less memory traffic (the idea of Liger-Kernel's fused
linear cross-entropy). `GPT.forward` uses it when `model.fused_loss` is True (the
Trainer's `fused_loss` setting); tests check it equals the plain loss on the CPU.
"""
import torch
import torch.nn.functional as F


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, weight, targets, chunk_rows):
        # h (N, C), weight (V, C), targets (N,) with -100 = not counted.
        acc = torch.promote_types(h.dtype, torch.float32)  # fp32 sums for bf16 inputs
        n_counted = (targets != -100).sum().clamp(min=1)
        loss = torch.zeros((), dtype=acc, device=h.device)
        grad_h = torch.empty_like(h) if h.requires_grad else None
        grad_w = torch.zeros(weight.shape, dtype=acc, device=weight.device) if weight.requires_grad else None
        for start in range(0, h.size(0), chunk_rows):
            rows = slice(start, start + chunk_rows)
            logits = (h[rows] @ weight.T).to(acc)  # (n, V)
            y = targets[rows]
            loss += F.cross_entropy(logits, y, ignore_index=-100, reduction="sum")
            # d(loss)/d(logits) = softmax - one_hot(target), zero for rows that do not count.
            d_logits = logits.softmax(-1)
            counted = (y != -100).nonzero().squeeze(1)
            d_logits[counted, y[counted]] -= 1.0
            d_logits[y == -100] = 0.0
            d_logits = (d_logits / n_counted).to(h.dtype)
            if grad_h is not None:
                grad_h[rows] = d_logits @ weight
            if grad_w is not None:
                grad_w += (d_logits.T @ h[rows]).to(acc)
        ctx.save_for_backward(grad_h, grad_w)
        ctx.weight_dtype = weight.dtype
        return loss / n_counted

    @staticmethod
    def backward(ctx, grad_loss):
        grad_h, grad_w = ctx.saved_tensors
        gh = None if grad_h is None else grad_h * grad_loss.to(grad_h.dtype)
        gw = None if grad_w is None else (grad_w * grad_loss).to(ctx.weight_dtype)
        return gh, gw, None, None


def linear_cross_entropy(h, weight, targets, chunk_rows: int = 4096):
    """Mean cross-entropy of logits h @ weight.T against targets, never holding all logits.

    h: (..., C) hidden vectors; weight: (V, C) the output layer; targets: (...) token ids,
    -100 where a position does not count. Returns a scalar like F.cross_entropy.
    """
    if not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a whole number >= 1, not {chunk_rows!r}")
    C = h.size(-1)
    if weight.dim() != 2 or weight.size(1) != C:
        raise ValueError(f"weight must have shape (V, {C}), got {tuple(weight.shape)}")
    h2, y = h.reshape(-1, C), targets.reshape(-1)
    if y.numel() != h2.size(0):
        raise ValueError(f"targets have {y.numel()} positions but h has {h2.size(0)}")
    dtype = _autocast_dtype(h.device.type)
    if dtype is not None:  # under autocast the matmuls run in its precision (bf16 on a GPU)
        h2, weight = h2.to(dtype), weight.to(dtype)
    elif h2.dtype != weight.dtype:
        h2 = h2.to(weight.dtype)
    with torch.autocast(device_type=h.device.type, enabled=False):
        return _LinearCrossEntropy.apply(h2, weight, y, chunk_rows)


def _autocast_dtype(device_type: str):
    """The autocast precision in force for this device type, or None."""
    try:
        if torch.is_autocast_enabled(device_type):
            return torch.get_autocast_dtype(device_type)
    except TypeError:  # torch < 2.4 has no per-device form
        if device_type == "cuda" and torch.is_autocast_enabled():
            return torch.get_autocast_gpu_dtype()
        if device_type == "cpu" and torch.is_autocast_cpu_enabled():
            return torch.get_autocast_cpu_dtype()
    return None
