"""Lesson 04 · cosine similarity and nearest neighbours: the reference solutions (instructor edition only)."""
import torch


def cosine_similarity_solution(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The cosine of the angle between two vectors: their dot product divided by both lengths."""
    return (a * b).sum() / (a.norm() * b.norm())


def nearest_neighbours_solution(E: torch.Tensor, i: int, k: int = 5) -> torch.Tensor:
    """Indices of the k rows of E most similar (by cosine) to row i, most similar first, i itself left out."""
    unit = E / E.norm(dim=1, keepdim=True)  # every row scaled to length 1
    sims = unit @ unit[i]  # (V,) cosine similarity of every row with row i
    sims[i] = float("-inf")  # a word is always its own nearest neighbour: leave it out
    return sims.topk(k).indices
