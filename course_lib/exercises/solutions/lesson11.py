"""Lesson 11 · the Bradley-Terry and DPO losses: the reference solutions (instructor edition only)."""
import torch
import torch.nn.functional as F


def bradley_terry_loss_solution(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """Mean of -log sigmoid(r_chosen - r_rejected): small when the chosen answer scores higher."""
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def dpo_loss_solution(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1) -> torch.Tensor:
    """Mean of -log sigmoid(beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)))."""
    margin = beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))
    return -F.logsigmoid(margin).mean()
