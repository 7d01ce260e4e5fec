"""Lesson 10 · the fine-tuning targets: the reference solutions (instructor edition only)."""
import torch


def loss_targets_solution(ids: list, mask: list) -> torch.Tensor:
    """Targets for fine-tuning: the next token where the assistant wrote it, -100 elsewhere."""
    return torch.tensor([t if m else -100 for t, m in zip(ids[1:], mask[1:])], dtype=torch.long)
