"""Lesson 02 · the bigram count table: the reference solutions (instructor edition only)."""
import torch


def bigram_counts_solution(ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """counts[a, b] = how many times token b directly follows token a."""
    ids = torch.as_tensor(ids, dtype=torch.long)
    firsts, seconds = ids[:-1], ids[1:]  # the pairs (ids[i], ids[i + 1])
    # Each pair gets one number, a * V + b; counting those numbers counts the pairs.
    flat = torch.bincount(firsts * vocab_size + seconds, minlength=vocab_size * vocab_size)
    return flat.view(vocab_size, vocab_size)
