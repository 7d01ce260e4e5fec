"""What every fine-tuning loop shares: the progress bar, the clock, the log and live events.

Supervised fine-tuning (`chat.sft`), the reward model, PPO and DPO (`rlhf`) each write
their loop out (the loop is what the lesson shows). Each step ends the same way:

    >>> run = RunLog("DPO", steps, progress=True, callback=dashboard.callback)
    >>> with run:
    ...     for ...:
    ...         loss = ...
    ...         optimizer_step(optimizer, loss, model)
    ...         if not run.record({"loss": loss.item(), ...}, train_loss=loss.item(), tokens=X.numel(), lr=lr):
    ...             break                           # the callback returned False
    >>> run.log                                     # one dict per step: step, ..., seconds, cpu_seconds

The callback receives the same event dicts as the Trainer's (`course_lib.train.Trainer.event`):
{"kind": "step" | "end", "step", "tokens" (seen so far), "elapsed", "train_loss",
"val_loss", "tokens_per_s", "lr", "mfu", ...} plus the loop's own numbers ("kl",
"reward", "accuracy", ...), so the training dashboard can watch any of them live.
"""
from __future__ import annotations

import time

import torch

from .optim import lr_at, set_lr

TRAINER_KEYS = ("step", "tokens", "elapsed", "train_loss", "val_loss", "tokens_per_s", "lr", "mfu")


def diverged(what: str, value, step: int, lr) -> Exception:
    """The error a fine-tuning loop stops with when its loss (or gradient) is not finite:
    course_lib.train.TrainingDiverged, naming the step and suggesting a smaller lr."""
    from .train import TrainingDiverged

    return TrainingDiverged(f"{what} diverged at step {step}: the loss became {value}. The model is kept as it was "
                            f"before this step. Try a smaller learning rate (lr={lr}).")


def optimizer_step(optimizer, loss: torch.Tensor, model, clip: float = 1.0, what: str = "training",
                   step: int | None = None, lr=None, parameters=None) -> None:
    """One update: clear the old gradients, backpropagate `loss`, clip the gradient's total
    norm to `clip`, step. A NaN or infinite loss or gradient stops the run (TrainingDiverged,
    naming `what`, the `step` (1-based) and the `lr` setting) before the weights change.
    parameters: what the gradient clipping sees (default: all of the model's)."""
    if not torch.isfinite(loss.detach()).all():
        raise diverged(what, loss.item(), step, lr)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters() if parameters is None else parameters, clip)
    if not torch.isfinite(norm):
        optimizer.zero_grad(set_to_none=True)
        raise diverged(what, f"{loss.item()} with a gradient of norm {norm.item()}", step, lr)
    optimizer.step()


def scheduled_lr(optimizer, step: int, steps: int, lr: float, min_lr: float | None = None,
                 warmup_steps: int | None = None) -> float:
    """Set and return the learning rate of `step` (0-based) of `steps`: linear warmup, then
    cosine decay to min_lr (default lr / 10, warmup a tenth of the steps), as in pre-training."""
    min_lr = lr / 10 if min_lr is None else min_lr
    warmup_steps = max(1, steps // 10) if warmup_steps is None else warmup_steps
    rate = lr_at(step, lr, min_lr, warmup_steps, steps)
    set_lr(optimizer, rate)
    return rate


class RunLog:
    """The progress bar, timing, log and events of one fine-tuning run of `steps` steps.

    desc: the progress bar's label. show: {label: log key} shown next to the bar.
    callback(event) is called after every step and once at the end; returning False
    from it stops the run after that step.
    """

    def __init__(self, desc: str, steps: int, progress: bool = True, callback=None, show=None):
        from tqdm.auto import tqdm

        if callback is not None and not callable(callback):
            raise ValueError(f"callback must be a function that takes an event dict (or None), not {callback!r}")
        self.bar = tqdm(total=steps, desc=desc, disable=not progress)
        self.callback = callback
        self.show = dict(show or {"loss": "loss"})
        self.log = []
        self.tokens = 0
        self.stopped = False
        # The Trainer's event keys as of the latest step (none yet).
        self._last = {**dict.fromkeys(TRAINER_KEYS), "step": 0, "tokens": 0, "elapsed": 0.0}
        self.t0, self.c0 = time.perf_counter(), time.process_time()
        self._step_t0 = self.t0

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        self.bar.close()
        if kind is None:
            self._emit("end", elapsed=round(time.perf_counter() - self.t0, 3),
                       status="stopped" if self.stopped else "done", steps=len(self.log))

    def record(self, values: dict, train_loss=None, tokens: int = 0, lr=None) -> bool:
        """Log one step (its `values`, then seconds and cpu_seconds) and send the step
        event; False when the callback asks to stop."""
        now = time.perf_counter()
        entry = {"step": len(self.log) + 1, **values, "seconds": round(now - self.t0, 2),
                 "cpu_seconds": round(time.process_time() - self.c0, 2)}
        self.log.append(entry)
        self.tokens += int(tokens)
        dt, self._step_t0 = now - self._step_t0, now
        self.bar.update(1)
        self.bar.set_postfix({label: f"{entry[key]:.3f}" if "loss" in key else f"{entry[key]:.2f}"
                              for label, key in self.show.items()})
        self._last = {"step": entry["step"], "tokens": self.tokens, "elapsed": round(now - self.t0, 3),
                      "train_loss": train_loss, "val_loss": None,
                      "tokens_per_s": tokens / dt if tokens and dt > 0 else None, "lr": lr, "mfu": None}
        extra = {k: v for k, v in entry.items() if k not in self._last}
        if self._emit("step", **extra) is False:
            self.stopped = True
        return not self.stopped

    def _emit(self, kind: str, **extra):
        if self.callback is None:
            return None
        return self.callback({"kind": kind, **self._last, **extra})
