"""Pick the device to compute on: the same code path runs on CPU, an NVIDIA GPU or Apple's MPS."""
import torch

ALLOWED = ("auto", "cpu", "cuda", "mps")


def pick_device(name: str = "auto") -> torch.device:
    """'auto' takes cuda when present, else mps, else cpu. Asking for a missing one is an error."""
    if isinstance(name, torch.device):
        return name
    name = str(name).lower()
    base = name.split(":")[0]
    if base not in ALLOWED:
        raise ValueError(f"device must be one of {ALLOWED} (or 'cuda:N'), not {name!r}")
    if base == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if base == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is visible; use 'auto' or 'cpu'")
    if base == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' was asked for but Apple's MPS is not available; use 'auto' or 'cpu'")
    return torch.device(name)
