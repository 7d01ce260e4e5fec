"""A training run's settings: `TrainConfig` (checked when made) and the named presets."""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Optional

from ..device import ALLOWED as DEVICES
from ..model import GPTConfig
from ..tokenizer import KINDS as TOKENIZERS

MODEL_FIELDS = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "bias")
DTYPES = ("auto", "float32", "bfloat16", "float16")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def _f(default, help):  # a config field with its help text (shown by --help)
    return field(default=default, metadata={"help": help})


# ---------------------------------------------------------------------------------------
# The run's settings
# ---------------------------------------------------------------------------------------

@dataclass
class TrainConfig:
    # data
    tokenizer: str = _f("char", "'char' (one token per character) or 'bpe' (the course's trained BPE)")
    # the model (the vocabulary size comes from the tokenizer)
    n_layer: int = _f(4, "transformer blocks")
    n_head: int = _f(4, "attention heads per block")
    n_embd: int = _f(128, "width of every token's vector")
    block_size: int = _f(64, "context length in tokens")
    dropout: float = _f(0.0, "dropout while training (0 = off)")
    bias: bool = _f(True, "biases in linear layers and layer norms")
    # the optimiser
    batch_size: int = _f(32, "sequences per micro-batch, per process")
    grad_accum: int = _f(1, "micro-batches whose gradients are added before each step")
    max_steps: int = _f(2000, "optimiser steps; the learning rate reaches min_lr here")
    lr: float = _f(1e-3, "peak learning rate, reached after the warmup")
    min_lr: float = _f(1e-4, "learning rate at the end of the cosine decay")
    warmup_steps: int = _f(100, "steps of linear warmup")
    weight_decay: float = _f(0.1, "AdamW weight decay, on matrices only")
    beta1: float = _f(0.9, "AdamW beta1 (momentum)")
    beta2: float = _f(0.99, "AdamW beta2")
    grad_clip: float = _f(1.0, "clip the gradient's total norm to this (0 = off)")
    # evaluation
    eval_interval: int = _f(250, "evaluate every this many steps (0 = only at the end)")
    eval_start: int = _f(0, "no evaluation before this step (except the final one)")
    eval_batches: Optional[int] = _f(None, "batches per evaluation (None = the whole validation split)")
    eval_batch_size: Optional[int] = _f(None, "sequences per evaluation batch (None = batch_size)")
    target_val_loss: Optional[float] = _f(None, "stop as soon as the validation loss is at or below this")
    # logging, samples, checkpoints
    log_interval: int = _f(1, "report (and check) the training loss every this many steps")
    sample_interval: int = _f(0, "write a text sample every this many steps (0 = never)")
    sample_tokens: int = _f(200, "tokens per sample")
    sample_prompt: str = _f("\n", "text the samples start from")
    ckpt_interval: int = _f(0, "save a checkpoint every this many steps (0 = only at the end)")
    out_dir: Optional[str] = _f(None, "folder for checkpoints (None = do not save)")
    max_seconds: Optional[float] = _f(None, "stop after this much wall time (None = no limit)")
    # the machine
    device: str = _f("auto", "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    dtype: str = _f("auto", "auto (bf16 on CUDA when supported, else fp16; fp32 elsewhere), float32, bfloat16, float16")
    compile: bool = _f(False, "torch.compile the model (worth it on a GPU for long runs)")
    compile_mode: str = _f("default", "torch.compile mode: default, reduce-overhead, max-autotune, "
                           "max-autotune-no-cudagraphs (with --compile)")
    fused_loss: bool = _f(False, "output layer + loss in chunks, never holding the logits (saves GPU memory)")
    num_threads: Optional[int] = _f(None, "CPU threads for torch (None = torch's default)")
    seed: int = _f(1337, "random seed for the weights and the batches")

    def __post_init__(self):
        if isinstance(self.out_dir, os.PathLike):  # a Path is fine: kept as text (it goes into config.json)
            self.out_dir = os.fspath(self.out_dir)
        self.check()

    def check(self) -> "TrainConfig":
        """ValueError naming the setting, its value and what is allowed."""
        def bad(name, allowed):
            raise ValueError(f"{name} must be {allowed}, not {getattr(self, name)!r}")

        def is_int(v):
            return isinstance(v, int) and not isinstance(v, bool)

        def is_num(v):
            return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

        for name in ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "grad_accum", "max_steps",
                     "log_interval", "sample_tokens"):
            if not is_int(getattr(self, name)) or getattr(self, name) < 1:
                bad(name, "a whole number >= 1")
        for name in ("warmup_steps", "eval_interval", "eval_start", "sample_interval", "ckpt_interval", "seed"):
            if not is_int(getattr(self, name)) or getattr(self, name) < 0:
                bad(name, "a whole number >= 0")
        for name in ("eval_batches", "eval_batch_size", "num_threads"):
            v = getattr(self, name)
            if v is not None and (not is_int(v) or v < 1):
                bad(name, "None or a whole number >= 1")
        if not is_num(self.lr) or self.lr <= 0:
            bad("lr", "a number > 0 (typical: 1e-4 to 1e-2)")
        if not is_num(self.min_lr) or not 0 <= self.min_lr <= self.lr:
            bad("min_lr", f"a number between 0 and lr ({self.lr})")
        if not is_num(self.weight_decay) or self.weight_decay < 0:
            bad("weight_decay", "a number >= 0")
        for name in ("beta1", "beta2"):
            if not is_num(getattr(self, name)) or not 0 <= getattr(self, name) < 1:
                bad(name, "a number in [0, 1)")
        if not is_num(self.grad_clip) or self.grad_clip < 0:
            bad("grad_clip", "a number >= 0 (0 = no clipping)")
        if not is_num(self.dropout) or not 0 <= self.dropout < 1:
            bad("dropout", "a number in [0, 1)")
        if self.target_val_loss is not None and (not is_num(self.target_val_loss) or self.target_val_loss <= 0):
            bad("target_val_loss", "None or a number > 0")
        if self.max_seconds is not None and (not is_num(self.max_seconds) or self.max_seconds <= 0):
            bad("max_seconds", "None or a number of seconds > 0")
        if self.tokenizer not in TOKENIZERS:
            bad("tokenizer", f"one of {TOKENIZERS}")
        if self.compile_mode not in COMPILE_MODES:
            bad("compile_mode", f"one of {COMPILE_MODES}")
        if self.dtype not in DTYPES:
            bad("dtype", f"one of {DTYPES}")
        if not isinstance(self.device, str) or self.device.split(":")[0] not in DEVICES:
            bad("device", f"one of {DEVICES} (or 'cuda:N')")
        if self.out_dir is not None and not isinstance(self.out_dir, str):
            bad("out_dir", "None (do not save) or a folder path")
        if not isinstance(self.sample_prompt, str):
            bad("sample_prompt", "text")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        return self

    @classmethod
    def from_preset(cls, name: Optional[str] = None, **overrides) -> "TrainConfig":
        """A preset's settings (see PRESETS), with any of them replaced by `overrides`."""
        settings = dict(preset(name)) if name is not None else {}
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown TrainConfig settings {sorted(unknown)}; allowed: {field_names()}")
        settings.update(overrides)
        return cls(**settings)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def model_config(self, vocab_size: int) -> GPTConfig:
        return GPTConfig(vocab_size=vocab_size, **{k: getattr(self, k) for k in MODEL_FIELDS})

    @property
    def tokens_per_step(self) -> int:
        """Tokens per optimiser step in one process (times the number of processes in total)."""
        return self.batch_size * self.grad_accum * self.block_size


def field_names() -> list:
    return [f.name for f in dataclasses.fields(TrainConfig)]


# Named settings; any of them can be overridden (TrainConfig.from_preset(name, lr=...) or CLI flags).
PRESETS = {
    # Character-level Shakespeare as fast as possible on a laptop CPU (val loss < 1.88 on
    # tinyshakespeare): 2 blocks of width 128, contexts of 32 characters, 32 of them per step,
    # a high learning rate that decays to the step budget, and one evaluation of the whole
    # validation split, at the end (see bench/RESULTS.md).
    "tiny-char-fast": dict(
        tokenizer="char", n_layer=2, n_head=4, n_embd=128, block_size=32, dropout=0.0,
        batch_size=32, grad_accum=1, max_steps=900, lr=6e-3, min_lr=6e-4, warmup_steps=50,
        weight_decay=0.1, beta1=0.9, beta2=0.99, grad_clip=1.0,
        eval_interval=0, eval_batch_size=512, log_interval=100,
    ),
    # The small character model the early lessons ship.
    "shakespeare-char": dict(
        tokenizer="char", n_layer=4, n_head=4, n_embd=192, block_size=128, dropout=0.1,
        batch_size=32, grad_accum=1, max_steps=5000, lr=2e-3, min_lr=2e-4, warmup_steps=100,
        weight_decay=0.1, beta1=0.9, beta2=0.99, grad_clip=1.0,
        eval_interval=500, eval_batch_size=128, sample_interval=1000,
    ),
    # The word-piece (BPE) model the lessons ship.
    "shakespeare-bpe": dict(
        tokenizer="bpe", n_layer=6, n_head=8, n_embd=256, block_size=256, dropout=0.15,
        batch_size=32, grad_accum=1, max_steps=6000, lr=1e-3, min_lr=1e-4, warmup_steps=200,
        weight_decay=0.1, beta1=0.9, beta2=0.99, grad_clip=1.0,
        eval_interval=500, eval_batch_size=64, sample_interval=1000,
    ),
    # GPT-2 small's shape (124M parameters with GPT-2's vocabulary), for the GPU check.
    "gpt2-small-shape": dict(
        tokenizer="bpe", n_layer=12, n_head=12, n_embd=768, block_size=1024, dropout=0.0,
        batch_size=16, grad_accum=1, max_steps=5000, lr=6e-4, min_lr=6e-5, warmup_steps=200,
        weight_decay=0.1, beta1=0.9, beta2=0.95, grad_clip=1.0,
        eval_interval=500, eval_batches=20, eval_batch_size=16, log_interval=10, compile=True,
    ),
}


def preset(name: str) -> dict:
    """A copy of the named preset's settings; ValueError lists the names."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return dict(PRESETS[name])


# ---------------------------------------------------------------------------------------
