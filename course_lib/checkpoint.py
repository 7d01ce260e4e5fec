"""Save and load a model without pickle.

A checkpoint is a folder:
    config.json        the GPTConfig plus free-form notes ("meta": how it was trained)
    model.safetensors  the weights (safetensors stores plain tensors, never code)
    tokenizer.json     the tokenizer it reads and writes with (optional)

A training run also writes train_state.pt next to them (`save_train_state`): the optimiser,
the random streams and the position in the data, to continue the run exactly.

Every file is written atomically, so a run killed while saving leaves the old checkpoint.
"""
import io
import json
from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from .fileio import atomic_write_bytes, atomic_write_json
from .model import GPT, GPTConfig
from .paths import CHECKPOINT_DIR

FORMAT = "course-gpt-checkpoint-v1"


def save_checkpoint(directory, model: GPT, tokenizer=None, meta=None, dtype=None) -> Path:
    """Write model (+ tokenizer) into `directory`. `dtype=torch.float16` halves the file size."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {}
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":  # tied to tok_emb.weight: store it once
            continue
        tensor = tensor.detach().cpu()
        if dtype is not None and tensor.is_floating_point():
            tensor = tensor.to(dtype)
        state[name] = tensor.contiguous()
    atomic_write_bytes(directory / "model.safetensors", save_safetensors_bytes(state))
    if tokenizer is not None:
        tokenizer.save(directory / "tokenizer.json")
    config = {"format": FORMAT, "model": model.config.to_dict(), "meta": meta or {}}
    atomic_write_json(directory / "config.json", config)
    return directory


def read_config(directory) -> tuple:
    """(GPTConfig, meta) of a checkpoint folder, with clear errors for what is missing."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no checkpoint folder at {directory}")
    path = directory / "config.json"
    if not path.exists():
        raise FileNotFoundError(f"{directory} has no config.json: it is not a course checkpoint")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e}); the checkpoint is damaged") from e
    if config.get("format") != FORMAT:
        raise ValueError(f"{path} has format {config.get('format')!r}; this course reads {FORMAT!r}")
    return GPTConfig.from_dict(config["model"]), config.get("meta", {})


def load_weights(model: GPT, directory) -> GPT:
    """Load a checkpoint's weights into an existing model of the same shape."""
    path = Path(directory) / "model.safetensors"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the checkpoint has no weights")
    try:
        state = load_safetensors_bytes(path.read_bytes())
    except Exception as e:  # a truncated or foreign file: safetensors raises its own error type
        raise ValueError(f"{path} is not a readable safetensors file ({e})") from e
    expected = {k: v for k, v in model.state_dict().items() if k != "lm_head.weight"}
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or extra or wrong:
        details = "; ".join(
            part
            for part in (
                f"missing {missing[:5]}" if missing else "",
                f"unexpected {extra[:5]}" if extra else "",
                "shape mismatch " + ", ".join(wrong[:5]) if wrong else "",
            )
            if part
        )
        raise ValueError(f"the checkpoint in {directory} was made for a different model: {details}")
    dtype = next(model.parameters()).dtype
    model.load_state_dict({k: v.to(dtype) for k, v in state.items()}, strict=False)
    return model


def load_checkpoint(directory, device="cpu"):
    """(model in eval mode, tokenizer or None, meta) from a checkpoint folder."""
    from .tokenizer import load_tokenizer  # imported here: the tokenizer module is optional for models

    directory = Path(directory)
    config, meta = read_config(directory)
    model = load_weights(GPT(config), directory).to(device).eval()
    tokenizer = None
    if (directory / "tokenizer.json").exists():
        tokenizer = load_tokenizer(directory / "tokenizer.json")
        if tokenizer.vocab_size != config.vocab_size:
            raise ValueError(
                f"{directory}: tokenizer has {tokenizer.vocab_size} tokens but the model expects "
                f"{config.vocab_size}; they do not belong together"
            )
    return model, tokenizer, meta


def shipped_models() -> list:
    """Names of the models that come with the course (folders in data/checkpoints/)."""
    if not CHECKPOINT_DIR.exists():
        return []
    return sorted(p.name for p in CHECKPOINT_DIR.iterdir() if (p / "config.json").exists())


def load_pretrained(name: str, device="cpu"):
    """Load a model shipped with the course, e.g. 'shakespeare-bpe' or 'shakespeare-char'."""
    directory = CHECKPOINT_DIR / name
    if not (directory / "config.json").exists():
        raise FileNotFoundError(
            f"no shipped model called {name!r}; available: {shipped_models()}. "
            "To load your own, call load_checkpoint(folder)."
        )
    return load_checkpoint(directory, device=device)


def load_or_stand_in(name: str, stand_in: str | None = None, device="cpu") -> tuple:
    """(model, tokenizer, note) for pages that must open even in a bare checkout.

    The shipped model `name`; if it is missing, the shipped `stand_in`; else an UNTRAINED
    model of the lessons' shape (GPTConfig's defaults) with the course's BPE tokenizer.
    `note` is "" for the real model, else one sentence saying what stands in.
    """
    shipped = shipped_models()
    if name in shipped:
        model, tokenizer, _ = load_pretrained(name, device)
        return model, tokenizer, ""
    if stand_in is not None and stand_in in shipped:
        model, tokenizer, _ = load_pretrained(stand_in, device)
        return model, tokenizer, (f"The model {name!r} is not in data/checkpoints/ yet, so {stand_in!r} "
                                  "stands in: it works, but was not trained for this.")
    from .paths import DATA_DIR
    from .tokenizer import load_tokenizer

    tokenizer = load_tokenizer(Path(DATA_DIR) / "tokenizer_bpe.json")
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size)).to(device).eval()
    return model, tokenizer, (f"The trained model {name!r} is not in data/checkpoints/ yet, so an UNTRAINED "
                              "model of the same shape (random weights) stands in: everything works, but "
                              "it writes gibberish.")


# ---------------------------------------------------------------------------------------
# The training state: everything needed to continue a run exactly (train_state.pt)
# ---------------------------------------------------------------------------------------

TRAIN_STATE_FILE = "train_state.pt"
TRAIN_STATE_FORMAT = "course-train-state-v1"


def save_train_state(path, model, optimizer, generator, *, scaler=None, step: int, tokens: int, elapsed: float,
                     train_loss, val_loss, best_val_loss, config: dict, model_config: dict, world_size: int,
                     micro_batches: int) -> Path:
    """Write a run's state with torch.save, atomically: plain tensors, numbers, strings, lists
    and dicts only, so that `load_train_state` reads it without running code.

    The dict holds "format", the numbers given (step, tokens, elapsed seconds, the losses,
    config and model_config as dicts, world_size), "model" (weights on the CPU), "optimizer"
    and "scaler" (state dicts; scaler None without one), "rng_cpu" and "rng_cuda" (torch's
    random streams now: dropout) and "data_position" ({"micro_batches", "generator": the batch
    sampler's state}).
    """
    state = {
        "format": TRAIN_STATE_FORMAT,
        "step": step,
        "tokens": tokens,
        "elapsed": elapsed,
        "train_loss": train_loss,
        "val_loss": val_loss,
        "best_val_loss": best_val_loss,
        "config": config,
        "model_config": model_config,
        "world_size": world_size,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler else None,
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "data_position": {"micro_batches": micro_batches, "generator": generator.get_state()},
    }
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def load_train_state(path, device="cpu") -> dict:
    """The dict `save_train_state` wrote, loaded without unpickling code (weights_only)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no training state at {path}")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as e:
        raise ValueError(
            f"{path} could not be loaded safely ({type(e).__name__}): only tensors, numbers, "
            "strings, lists and dicts are accepted, never pickled code"
        ) from e
    if not isinstance(state, dict) or state.get("format") != TRAIN_STATE_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{path} has format {found!r}; this course reads {TRAIN_STATE_FORMAT!r} "
                         "(written by course_lib.train)")
    return state
