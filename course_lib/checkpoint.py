"""Save and load a model without pickle.

A checkpoint is a folder:
    config.json        the GPTConfig plus free-form notes ("meta": how it was trained)
    model.safetensors  the weights (safetensors stores plain tensors, never code)
    tokenizer.json     the tokenizer it reads and writes with (optional)

A training run also writes train_state.pt next to them (`save_train_state`): the optimiser,
the random streams and the position in the data, to continue the run exactly.

The files are written as one set with a manifest (course_lib.fileset), so a run killed
while saving leaves the old checkpoint or the new one, never a mix; loading checks them
against the manifest (folders without one, like the committed checkpoints, load as before).
`check_output_folder` says before a run starts whether a folder can take its checkpoints.
"""
import io
import json
import pickle
import sys
from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from .fileio import atomic_write_bytes
from .fileset import checked_path, resolve, write_set
from .model import GPT, GPTConfig
from .paths import CHECKPOINT_DIR

FORMAT = "course-gpt-checkpoint-v1"


CHECKPOINT_FILES = ("model.safetensors", "config.json", "tokenizer.json", "train_state.pt",
                    "reward_head.safetensors")  # what a checkpoint folder may hold (and manifest.json)


def non_finite_tensors(named_tensors) -> list:
    """Names of the floating-point tensors that hold NaN or infinite values."""
    return [name for name, t in named_tensors if t.is_floating_point() and not torch.isfinite(t).all()]


def save_checkpoint(directory, model: GPT, tokenizer=None, meta=None, dtype=None, extra_files=None) -> Path:
    """Write model (+ tokenizer) into `directory`. `dtype=torch.float16` halves the file size.

    The files are written as one set (course_lib.fileset): a reader, or a run killed while
    saving, sees either the old checkpoint or the new one, whole. extra_files: {name: bytes}
    saved in the same set (train_state.pt, reward_head.safetensors). Weights with NaN or
    infinite values are refused (ValueError naming the tensor): they would only write NaN.
    """
    directory = Path(directory)
    bad = non_finite_tensors(model.state_dict().items())
    if bad:
        raise ValueError(f"not saving {directory}: the weights {bad[:5]} hold NaN or infinite values (training "
                         "diverged: try a smaller learning rate)")
    state = {}
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":  # tied to tok_emb.weight: store it once
            continue
        tensor = tensor.detach().cpu()
        if dtype is not None and tensor.is_floating_point():
            tensor = tensor.to(dtype)
        state[name] = tensor.contiguous()
    bad = non_finite_tensors(state.items())
    if bad:
        raise ValueError(f"not saving {directory}: the weights {bad[:5]} overflow in {dtype} (values too large); "
                         "save in float32 (dtype=None)")
    config = {"format": FORMAT, "model": model.config.to_dict(), "meta": meta or {}}
    files = {"model.safetensors": save_safetensors_bytes(state)}
    if tokenizer is not None:
        files["tokenizer.json"] = tokenizer.save
        config["tokenizer_fingerprint"] = tokenizer.fingerprint()
    try:
        text = json.dumps(config, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except ValueError as e:
        raise ValueError(f"cannot write {directory / 'config.json'}: a value of meta is NaN or infinite ({e})") from e
    files["config.json"] = text.encode("utf-8")
    files.update(extra_files or {})
    step = (meta or {}).get("step") if isinstance(meta, dict) else None
    write_set(directory, files, {"step": step}, replaces=CHECKPOINT_FILES)
    return directory


def read_config(directory) -> tuple:
    """(GPTConfig, meta) of a checkpoint folder, with clear errors for what is missing."""
    config, path = _read_config_dict(directory)
    model = config.get("model")
    if not isinstance(model, dict):
        raise ValueError(f"{path} has no \"model\" settings (a dict of GPTConfig fields); the checkpoint is damaged")
    meta = config.get("meta", {})
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: \"meta\" must be a dict, not {type(meta).__name__}; the checkpoint is damaged")
    try:
        return GPTConfig.from_dict(model), meta
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path} describes a model that cannot be built: {e}") from e


def _read_config_dict(directory) -> tuple:
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no checkpoint folder at {directory}")
    path = checked_path(directory, "config.json")
    if not path.exists():
        raise FileNotFoundError(f"{directory} has no config.json: it is not a course checkpoint")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"{path} is not UTF-8 text ({e}); the checkpoint is damaged") from e
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e}); the checkpoint is damaged") from e
    if not isinstance(config, dict):
        raise ValueError(f"{path} holds a JSON {type(config).__name__}, not an object with \"format\" and "
                         "\"model\"; the checkpoint is damaged")
    if config.get("format") != FORMAT:
        raise ValueError(f"{path} has format {config.get('format')!r}; this course reads {FORMAT!r}")
    return config, path


def load_weights(model: GPT, directory) -> GPT:
    """Load a checkpoint's weights into an existing model of the same shape."""
    path = checked_path(directory, "model.safetensors")
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
    fingerprint = _read_config_dict(directory)[0].get("tokenizer_fingerprint")
    tokenizer = None
    tokenizer_path = checked_path(directory, "tokenizer.json")
    if tokenizer_path.exists():
        tokenizer = load_tokenizer(tokenizer_path)
        if tokenizer.vocab_size != config.vocab_size:
            raise ValueError(
                f"{directory}: tokenizer has {tokenizer.vocab_size} tokens but the model expects "
                f"{config.vocab_size}; they do not belong together"
            )
        if fingerprint is not None and tokenizer.fingerprint() != fingerprint:
            raise ValueError(
                f"{directory}: tokenizer.json is not the tokenizer the model was saved with (its fingerprint "
                f"{tokenizer.fingerprint()[:12]}... differs from config.json's {str(fingerprint)[:12]}...): the "
                "model would read different tokens than it learned. Put the model's own tokenizer.json back.")
    model = load_weights(GPT(config), directory).to(device).eval()
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


def save_train_state(path, model, optimizer, generator, **numbers) -> Path:
    """Write a run's state (`train_state_bytes`) to `path` atomically."""
    atomic_write_bytes(path, train_state_bytes(model, optimizer, generator, **numbers))
    return Path(path)


def train_state_bytes(model, optimizer, generator, *, scaler=None, step: int, tokens: int, elapsed: float,
                      train_loss, val_loss, best_val_loss, config: dict, model_config: dict, world_size: int,
                      micro_batches: int) -> bytes:
    """A run's state, as torch.save writes it: plain tensors, numbers, strings, lists and
    dicts only, so that `load_train_state` reads it without running code.

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
    return buf.getvalue()


def load_train_state(path, device="cpu") -> dict:
    """The dict `save_train_state` wrote, loaded without unpickling code (weights_only)."""
    path = checked_path(Path(path).parent, Path(path).name)  # the set's file, checked against its manifest
    if not path.exists():
        raise FileNotFoundError(f"no training state at {path}")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as e:  # what weights_only refuses: objects that would run code
        raise ValueError(
            f"{path} could not be loaded safely ({type(e).__name__}): only tensors, numbers, "
            "strings, lists and dicts are accepted, never pickled code"
        ) from e
    except Exception as e:  # a truncated or overwritten file: the zip archive cannot be read
        raise ValueError(
            f"{path} is damaged (truncated or corrupt: {type(e).__name__}: {str(e)[:120]}). The run cannot continue "
            "from it: delete the file to start a new run in this folder, or resume from a copy of the folder."
        ) from e
    if not isinstance(state, dict) or state.get("format") != TRAIN_STATE_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{path} has format {found!r}; this course reads {TRAIN_STATE_FORMAT!r} "
                         "(written by course_lib.train)")
    return state


# ---------------------------------------------------------------------------------------
# Before a run: can this folder take its checkpoints?
# ---------------------------------------------------------------------------------------

def check_output_folder(directory, resume: bool = False, overwrite: bool = False, flag: str = "out_dir",
                        replace_checkpoint: bool = False) -> Path:
    """Make sure `directory` can take a run's checkpoints before the run starts, so that a
    finished run is never lost on saving; creates the folder. ValueError when:

    - the name is empty, or names a file;
    - the folder cannot be created or written (a read-only place such as /proc);
    - it already holds a checkpoint and neither `resume` (continue that run: it needs its
      train_state.pt) nor `overwrite` (replace it) is given;
    - it holds files that are not a checkpoint's (without `overwrite`: they are not ours).

    flag: the setting's name in the messages ("--out" on a command line). replace_checkpoint:
    a checkpoint without train_state.pt may be replaced (fine-tuning commands remake theirs).
    """
    import os
    import tempfile

    from .fileio import _TEMP, remove_stale_temps

    resume_words, overwrite_words = (("--resume", "--overwrite") if flag.startswith("--")
                                     else ("resume=True", "overwrite=True"))
    if directory is None or not str(directory).strip():
        raise ValueError(f"{flag} is empty: name the folder the checkpoints go to, e.g. runs/mine")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{flag} {directory} is a file, not a folder: choose a folder for the checkpoints")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=f".write-check.{os.getpid()}.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ValueError(f"{flag} {directory} cannot be created or written ({e.strerror or e}): choose a folder "
                         "you can write, e.g. runs/mine") from e
    remove_stale_temps(directory)  # what killed runs left (their .next/ goes at the first save)
    names = sorted(p.name for p in directory.iterdir() if not p.name.startswith(".") and not _TEMP.match(p.name))
    ours = [n for n in names if n in CHECKPOINT_FILES or n == "manifest.json"]
    others = [n for n in names if n not in ours]
    if others and not overwrite:
        raise ValueError(f"{flag} {directory} holds files that are not a checkpoint's ({', '.join(others[:5])}"
                         f"{', ...' if len(others) > 5 else ''}): choose an empty or new folder (or {overwrite_words} "
                         "to write the checkpoint among them)")
    if ours and not overwrite:
        has_state = resolve(directory, TRAIN_STATE_FILE)[0].exists()
        if resume and has_state:
            return directory
        if replace_checkpoint and not has_state:
            print(f"note: replacing the checkpoint in {directory}", file=sys.stderr)
            return directory
        what = "a training run" if has_state else "a checkpoint"
        if resume:
            raise ValueError(f"{flag} {directory} holds a checkpoint but no {TRAIN_STATE_FILE}: there is no run to "
                             f"resume. Choose another folder, or {overwrite_words} to replace the checkpoint")
        raise ValueError(f"{flag} {directory} already holds {what}: {resume_words} continues it, {overwrite_words} "
                         "replaces it; or choose another folder")
    return directory


def check_output_file(path, flag: str) -> Path:
    """Make sure a file can be written at `path` before a long run (ValueError if not): not
    a folder, and its folder can be created and written."""
    if path is None or not str(path).strip():
        raise ValueError(f"{flag} is empty: name the file to write")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{flag} {path} is a folder; name a file")
    try:
        check_output_folder(path.parent, overwrite=True, flag=flag)
    except ValueError as e:
        raise ValueError(f"{flag} {path}: its folder cannot be created or written: choose another place") from e
    return path
