"""Lesson 02's counting model: the bigram table.

    counts = bigram_counts(ids, vocab_size)   # (V, V): counts[a, b] = how often b follows a

Row a of the table, divided by its sum, is the model's next-token distribution after token a.
"""
import torch


def bigram_counts(ids, vocab_size: int) -> torch.Tensor:
    """(vocab_size, vocab_size) long tensor: entry [a, b] counts the positions i where
    ids[i] == a and ids[i + 1] == b."""
    ids = torch.as_tensor(ids)
    if ids.numel() == 0:
        ids = ids.long()  # an empty list: no pairs
    if ids.dim() != 1 or ids.is_floating_point() or ids.dtype == torch.bool:
        raise ValueError(f"ids must be a 1-D sequence of token ids (whole numbers), not shape "
                         f"{tuple(ids.shape)} of {ids.dtype}")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a whole number >= 1, not {vocab_size!r}")
    ids = ids.long()
    if len(ids) and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"token ids must lie in 0 .. {vocab_size - 1}; found {int(ids.min())} .. {int(ids.max())}")
    pair_number = ids[:-1] * vocab_size + ids[1:]  # one number per neighbouring pair (a, b): a * V + b
    return torch.bincount(pair_number, minlength=vocab_size * vocab_size).view(vocab_size, vocab_size)
