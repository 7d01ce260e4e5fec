"""Pick the device to compute on: the same code path runs on CPU, an NVIDIA GPU or Apple's MPS;
and join the process group when torchrun starts several processes."""
import os

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


# ---------------------------------------------------------------------------------------
# Several processes (torchrun): one process per GPU, or several on the CPU
# ---------------------------------------------------------------------------------------

def active_dist():
    """torch.distributed while a process group is running, else None (one process)."""
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def setup_distributed(device_name: str = "auto"):
    """(rank, world_size, device). Under torchrun (WORLD_SIZE > 1) join the process group:
    NCCL with one GPU per process on CUDA, gloo on the CPU. Alone: (0, 1, pick_device(...))."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = pick_device(device_name)
    if world <= 1:
        return 0, 1, device
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    elif device.type == "cpu":
        backend = "gloo"
    else:
        raise ValueError(f"several processes need CUDA (NCCL) or the CPU (gloo), not {device.type}")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size(), device


def teardown_distributed():
    """Leave the process group, if one is running."""
    dist = active_dist()
    if dist is not None:
        dist.destroy_process_group()


def pick_dtype(name: str, device) -> torch.dtype:
    """The training precision: 'auto' is bf16 on a CUDA GPU that has it (else fp16), fp32 elsewhere."""
    device = torch.device(device)
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if name not in dtypes:
        raise ValueError(f"dtype must be 'auto' or one of {sorted(dtypes)}, not {name!r}")
    return dtypes[name]


def autocast(device):
    """The fine-tuning commands' precision: bf16 autocast on a CUDA GPU that has bf16, else
    nothing (fp32). fp16 is left out: without a gradient scaler its small gradients vanish."""
    import contextlib

    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
