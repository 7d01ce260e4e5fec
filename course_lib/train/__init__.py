"""The training loop: show the model text, compare its guesses with the true next tokens,
let backpropagation say how every weight should move, nudge them (AdamW), repeat.

    >>> from course_lib.train import TrainConfig, Trainer
    >>> config = TrainConfig.from_preset("shakespeare-char", max_steps=300)
    >>> trainer = Trainer(config, train_ids, val_ids, tokenizer=tok, callbacks=[print])
    >>> summary = trainer.fit()          # trainer.model is the trained GPT

One optimiser step: draw `batch_size` random windows of `block_size` tokens (x, and y = x
shifted by one), compute the mean cross-entropy of the model's predictions, backpropagate,
clip the gradient, take an AdamW step with the learning rate of the schedule. With
`grad_accum` > 1 the gradients of several such micro-batches are added up first.

The same loop runs on a CPU, an Apple GPU (mps) or an NVIDIA GPU (bf16 autocast, TF32,
fused AdamW, optional torch.compile), and under `torchrun` on several GPUs or machines
(DistributedDataParallel: each process takes its own rows of one shared global batch).

Command line (one JSON line per evaluation, then a JSON summary):

    python -m course_lib.train --preset shakespeare-char --out runs/char
    python -m course_lib.train --data my.txt --tokenizer char --preset tiny-char-fast \\
        --target-val-loss 1.9 --out runs/mine
    torchrun --nproc_per_node=8 -m course_lib.train --preset gpt2-small-shape --out runs/big
"""
from __future__ import annotations

import dataclasses

from ..data import encode_text, load_corpus, split
from ..tokenizer import make_tokenizer
from .cli import build_parser, config_from_args, main
from .config import COMPILE_MODES, DTYPES, MODEL_FIELDS, PRESETS, TOKENIZERS, TrainConfig, field_names, preset
from .trainer import Trainer, TrainingDiverged


__all__ = ["COMPILE_MODES", "DTYPES", "MODEL_FIELDS", "PRESETS", "TOKENIZERS", "TrainConfig", "Trainer",
           "TrainingDiverged", "build_parser", "config_from_args", "field_names", "main", "preset", "train"]


# ---------------------------------------------------------------------------------------
# One call from a notebook
# ---------------------------------------------------------------------------------------

def train(text: str | None = None, tokenizer=None, preset: str | None = None, callbacks=(), progress=True,
          resume=False, val_fraction=0.1, overwrite=False, **settings) -> Trainer:
    """Tokenize `text` (default: the Shakespeare corpus), split it (the last val_fraction
    validates), train, and return the Trainer (`.model`, `.summary`, `.history`).

    tokenizer: a tokenizer object, or 'char'/'bpe' (default: the preset's). settings: any
    TrainConfig field, e.g. max_steps=300, out_dir="runs/mine" (a folder that already holds a
    run needs resume=True to continue it or overwrite=True to replace it).
    """
    config = TrainConfig.from_preset(preset, **settings)
    if text is None:
        text = load_corpus()
    if tokenizer is None or isinstance(tokenizer, str):
        if isinstance(tokenizer, str):
            config = dataclasses.replace(config, tokenizer=tokenizer).check()
        tokenizer = make_tokenizer(config.tokenizer, text)
    train_ids, val_ids = split(encode_text(tokenizer, text), val_fraction)
    trainer = Trainer(config, train_ids, val_ids, tokenizer=tokenizer, callbacks=callbacks, progress=progress,
                      resume=resume, overwrite=overwrite)
    trainer.fit()
    return trainer
