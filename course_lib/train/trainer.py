"""The Trainer: the loop, evaluation, samples, and saving and resuming a run."""
from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Optional

import torch

from ..checkpoint import TRAIN_STATE_FILE, check_output_folder, load_train_state, save_checkpoint, train_state_bytes
from ..data import as_token_ids, get_batch
from ..device import active_dist, pick_device, pick_dtype
from ..fileset import resolve
from ..model import GPT
from ..optim import lr_at, make_optimizer, set_lr
from ..sampling import generate
from ..scale import flops_per_token, mfu, peak_flops
from .config import MODEL_FIELDS, TrainConfig


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite: the run stopped and the last good checkpoint was kept."""


# The trainer
# ---------------------------------------------------------------------------------------

class Trainer:
    """Trains a GPT on token ids; usable from a notebook and from the command line.

    config: a TrainConfig. train_ids, val_ids: 1-D tensors of token ids (val may be None:
    no evaluation). tokenizer: for samples and to save with the checkpoints. model: a GPT to
    continue training (its shape replaces the config's model settings); else a new one.
    callbacks: functions called with an event dict (see `Trainer.event`) at every logged
    step, evaluation, sample and at the end; only the first process calls them.
    progress: a tqdm progress bar with the loss and tokens/s. resume: continue the run saved
    in config.out_dir (train_state.pt) exactly where it stopped. out_dir is checked first (a folder
    holding a run needs resume=True or overwrite=True: `checkpoint.check_output_folder`).
    """

    def __init__(self, config: TrainConfig, train_ids, val_ids=None, tokenizer=None, model=None,
                 callbacks=(), progress=True, resume=False, overwrite=False, out_flag="out_dir"):
        if not isinstance(config, TrainConfig):
            raise ValueError(f"config must be a TrainConfig, not {type(config).__name__}")
        if model is not None:  # the model's shape wins over the config's model settings
            config = dataclasses.replace(config, **{k: getattr(model.config, k) for k in MODEL_FIELDS})
        self.config = cfg = config.check()
        dist = active_dist()
        self.rank, self.world = (dist.get_rank(), dist.get_world_size()) if dist else (0, 1)
        self.is_main = self.rank == 0
        self.device = pick_device(cfg.device)
        if dist and self.device.type == "cuda":
            self.device = torch.device("cuda", torch.cuda.current_device())
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        self.tokenizer = tokenizer
        self.callbacks = list(callbacks)
        self.progress = progress
        self.out_dir = Path(cfg.out_dir) if cfg.out_dir is not None else None
        if self.out_dir is not None and self.is_main:
            check_output_folder(cfg.out_dir, resume=resume, overwrite=overwrite, flag=out_flag)

        # Data: token ids stay on the CPU; each batch travels to the device.
        self.train_ids = as_token_ids(train_ids, "train_ids")
        self.val_ids = None if val_ids is None else as_token_ids(val_ids, "val_ids")
        if self.train_ids.numel() < cfg.block_size + 1:
            raise ValueError(f"train_ids has {self.train_ids.numel()} tokens; block_size={cfg.block_size} needs "
                             f"at least {cfg.block_size + 1}: use more text or a smaller block_size")
        if self.val_ids is not None and self.val_ids.numel() < 2:
            raise ValueError("val_ids needs at least 2 tokens (one to read, one to predict)")
        if cfg.target_val_loss is not None and self.val_ids is None:
            raise ValueError("target_val_loss needs validation data (val_ids)")
        vocab_size = (model.config.vocab_size if model is not None else tokenizer.vocab_size if tokenizer is not None
                      else int(max(self.train_ids.max(), -1 if self.val_ids is None else self.val_ids.max())) + 1)
        if tokenizer is not None and tokenizer.vocab_size != vocab_size:
            raise ValueError(f"the tokenizer has {tokenizer.vocab_size} tokens but the model {vocab_size}")
        for name, ids in (("train_ids", self.train_ids), ("val_ids", self.val_ids)):
            if ids is not None and not 0 <= int(ids.min()) <= int(ids.max()) < vocab_size:
                raise ValueError(f"{name} holds token ids outside 0..{vocab_size - 1}, the model's vocabulary")

        # Model, precision, optimiser. The same seed gives the same initial weights everywhere.
        torch.manual_seed(cfg.seed)
        self.model_config = model.config if model is not None else cfg.model_config(vocab_size)
        self.raw_model = (model if model is not None else GPT(self.model_config)).to(self.device)
        self.dtype = pick_dtype(cfg.dtype, self.device)
        if self.device.type == "cuda":
            torch.set_float32_matmul_precision("high")  # TF32 for whatever still runs in fp32
        use_autocast = self.dtype != torch.float32
        self.autocast = (torch.autocast(device_type=self.device.type, dtype=self.dtype) if use_autocast
                         else contextlib.nullcontext())
        self.scaler = torch.amp.GradScaler(self.device.type) if self.dtype == torch.float16 else None
        self.optimizer = make_optimizer(self.raw_model, cfg.lr, cfg.weight_decay, (cfg.beta1, cfg.beta2),
                                        device_type=self.device.type)
        self.raw_model.fused_loss = cfg.fused_loss
        self.compiled = torch.compile(self.raw_model, mode=cfg.compile_mode) if cfg.compile else self.raw_model
        self.model_for_step = self.compiled
        if dist:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model_for_step = DDP(self.compiled, device_ids=ids)
            torch.manual_seed(cfg.seed + 1000 * self.rank)  # different dropout in each process

        # The batch sampler: one generator, the same in every process (see `_next_batch`).
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.step = 0  # optimiser steps done
        self.tokens = 0  # training tokens seen, all processes together
        self.elapsed_before = 0.0  # wall seconds of earlier sessions of a resumed run
        self.train_loss = self.val_loss = self.best_val_loss = None
        self.last_saved_step = None
        self.time_to_target = None
        self.history = []  # every event except samples, for plotting afterwards
        self.peak = peak_flops(self.device)
        self._stop = False
        self._lr = self._tokens_per_s = None
        if resume:
            self.load_state()

    @property
    def model(self) -> GPT:
        """The GPT being trained (the plain module, not the compiled or distributed wrapper)."""
        return self.raw_model

    def stop(self):
        """Ask the loop to stop after the current step (e.g. from a callback or a button)."""
        self._stop = True

    # -- one step ------------------------------------------------------------------------
    def _next_batch(self):
        """x, y for this process. Every process draws the same global batch of
        batch_size x world rows and keeps rows rank, rank + world, ... so that the processes
        together see exactly what one process with the global batch would see."""
        cfg = self.config
        x, y = get_batch(self.train_ids, cfg.batch_size * self.world, cfg.block_size, generator=self.generator)
        if self.world > 1:
            x, y = x[self.rank::self.world], y[self.rank::self.world]
        if self.device.type == "cuda":
            return x.pin_memory().to(self.device, non_blocking=True), y.pin_memory().to(self.device, non_blocking=True)
        return x.to(self.device), y.to(self.device)

    def _train_step(self) -> torch.Tensor:
        """One optimiser step; returns the mean loss of its micro-batches (a tensor, no sync)."""
        loss = self._accumulate_gradients()
        self._update()
        return loss

    def _accumulate_gradients(self) -> torch.Tensor:
        """Forward and backward over grad_accum micro-batches; the gradients add up in .grad."""
        cfg, model = self.config, self.model_for_step
        model.train()
        total = torch.zeros((), device=self.device)
        for micro in range(cfg.grad_accum):
            last = micro == cfg.grad_accum - 1
            # With DDP, gradients are averaged across processes only on the last micro-batch.
            sync = contextlib.nullcontext() if (last or self.world == 1) else model.no_sync()
            with sync:
                x, y = self._next_batch()
                with self.autocast:
                    _, loss = model(x, y)
                loss = loss / cfg.grad_accum  # the sum of the micro-batches' gradients is then a mean
                total += loss.detach()
                (self.scaler.scale(loss) if self.scaler else loss).backward()
        return total

    def _update(self):
        """Clip the gradient, take the AdamW step, clear the gradients."""
        cfg = self.config
        if cfg.grad_clip > 0:
            if self.scaler:
                self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.raw_model.parameters(), cfg.grad_clip)
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    # -- evaluation ----------------------------------------------------------------------
    def _eval_batches(self):
        """Yield (x, y) batches for this process; y is -100 where a target does not count."""
        cfg, val = self.config, self.val_ids
        T = min(cfg.block_size, val.numel() - 1)
        B = cfg.eval_batch_size or cfg.batch_size
        if cfg.eval_batches is not None:  # a fixed sample: the same windows at every evaluation
            g = torch.Generator().manual_seed(cfg.seed + 1)
            for _ in range(cfg.eval_batches):
                x, y = get_batch(val, B * self.world, T, generator=g)
                yield x[self.rank::self.world], y[self.rank::self.world]
            return
        # The whole split: windows side by side, each target counted once. The last window
        # ends at the last token and counts only the targets the others did not reach.
        n = val.numel()
        starts = list(range(0, n - T, T))
        keep = [T] * len(starts)
        rest = (n - 1) - (starts[-1] + T)
        if rest > 0:
            starts.append(n - 1 - T)
            keep.append(rest)
        mine = list(range(self.rank, len(starts), self.world))
        offsets = torch.arange(T + 1)
        for i in range(0, len(mine), B):
            chunk = mine[i:i + B]
            windows = val[torch.tensor([starts[j] for j in chunk])[:, None] + offsets].long()
            x, y = windows[:, :-1], windows[:, 1:].clone()
            for row, j in enumerate(chunk):
                if keep[j] < T:
                    y[row, : T - keep[j]] = -100
            if cfg.compile and len(chunk) < B:  # pad to one shape, so the compiled model is reused
                pad = B - len(chunk)
                x = torch.cat([x, x.new_zeros(pad, T)])
                y = torch.cat([y, y.new_full((pad, T), -100)])
            yield x, y

    @torch.no_grad()
    def evaluate(self) -> Optional[float]:
        """Mean cross-entropy on the validation split (all of it, or eval_batches batches)."""
        if self.val_ids is None:
            return None
        model = self.compiled
        was_training = model.training
        model.eval()
        total = torch.zeros(2, dtype=torch.float64, device=self.device)  # loss sum, target count
        for x, y in self._eval_batches():
            x, y = x.to(self.device), y.to(self.device)
            count = (y != -100).sum()
            if count == 0:
                continue
            with self.autocast:
                _, loss = model(x, y)
            total += torch.stack([loss.double() * count, count.double()])
        dist = active_dist()
        if dist:
            dist.all_reduce(total)
        model.train(was_training)
        return (total[0] / total[1]).item()

    @torch.no_grad()
    def sample(self, prompt=None, max_new_tokens=None, temperature=0.8, seed=None) -> Optional[str]:
        """A text the model writes now (None without a tokenizer)."""
        if self.tokenizer is None:
            return None
        cfg = self.config
        with self.autocast:
            return generate(self.raw_model, self.tokenizer, cfg.sample_prompt if prompt is None else prompt,
                            max_new_tokens=max_new_tokens or cfg.sample_tokens, temperature=temperature,
                            seed=cfg.seed if seed is None else seed)

    # -- saving and resuming ---------------------------------------------------------------
    def save(self) -> Optional[Path]:
        """Write the checkpoint (model.safetensors, config.json, tokenizer.json) and
        train_state.pt into out_dir, as one set. Only the first process saves."""
        if self.out_dir is None or not self.is_main:
            return None
        params = list(self.raw_model.parameters())
        if not torch.isfinite(torch.stack([p.detach().float().norm() for p in params])).all():
            raise self._diverged("the weights contain NaN or infinite values")
        meta = {"step": self.step, "tokens": self.tokens, "val_loss": self.val_loss, "train_loss": self.train_loss,
                "train_config": self.config.to_dict()}
        state = train_state_bytes(
            self.raw_model, self.optimizer, self.generator, scaler=self.scaler, step=self.step, tokens=self.tokens,
            elapsed=self.elapsed(), train_loss=self.train_loss, val_loss=self.val_loss,
            best_val_loss=self.best_val_loss, config=self.config.to_dict(), model_config=self.model_config.to_dict(),
            world_size=self.world, micro_batches=self.step * self.config.grad_accum)
        save_checkpoint(self.out_dir, self.raw_model, self.tokenizer, meta=meta, extra_files={TRAIN_STATE_FILE: state})
        self.last_saved_step = self.step
        return self.out_dir

    def load_state(self) -> bool:
        """Continue from out_dir/train_state.pt; False (and a fresh start) if there is none."""
        if self.out_dir is None:
            raise ValueError("resume needs out_dir: the folder that holds the run's train_state.pt")
        path = self.out_dir / TRAIN_STATE_FILE
        if not resolve(self.out_dir, TRAIN_STATE_FILE)[0].exists():  # (it may still sit in a half-moved set)
            if self.is_main:
                print(f"note: nothing to resume in {self.out_dir} (no {TRAIN_STATE_FILE}); starting a new run",
                      file=sys.stderr)
            return False
        state = load_train_state(path, device="cpu")
        saved, now = state["model_config"], self.model_config.to_dict()
        if saved != now:
            diff = ", ".join(f"{k} {saved.get(k)!r} -> {now.get(k)!r}" for k in sorted(set(saved) | set(now))
                             if saved.get(k) != now.get(k))
            raise ValueError(f"cannot resume from {path}: it was trained with a different model ({diff}). "
                             "Use the same model settings (preset and flags) and tokenizer, or a new output folder.")
        old_cfg = state["config"]
        changed = [k for k in old_cfg if k in self.config.to_dict() and old_cfg[k] != getattr(self.config, k)
                   and k not in ("out_dir", "device", "max_seconds")]
        if changed and self.is_main:
            print("note: resuming with changed settings: " + ", ".join(
                f"{k} {old_cfg[k]!r} -> {getattr(self.config, k)!r}" for k in changed), file=sys.stderr)
        self.raw_model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler and state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        self.step, self.tokens, self.elapsed_before = state["step"], state["tokens"], state["elapsed"]
        self.train_loss, self.val_loss = state["train_loss"], state["val_loss"]
        self.best_val_loss = state["best_val_loss"]
        self.generator.set_state(state["data_position"]["generator"])
        if self.rank == 0:
            torch.set_rng_state(state["rng_cpu"])
        else:  # the other processes' dropout streams were not saved: derive fresh ones
            torch.manual_seed(self.config.seed + 1000 * self.rank + self.step)
        if state["rng_cuda"] and torch.cuda.is_available() and len(state["rng_cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        self.last_saved_step = self.step
        return True

    # -- the loop --------------------------------------------------------------------------
    def elapsed(self) -> float:
        """Wall seconds of training so far (earlier sessions of a resumed run included)."""
        start = getattr(self, "_t0", None)
        return self.elapsed_before + (time.perf_counter() - start if start is not None else 0.0)

    def event(self, kind: str, **extra) -> dict:
        """{"kind": "step"|"eval"|"sample"|"end", "step", "tokens", "elapsed", "train_loss",
        "val_loss", "tokens_per_s", "lr", "mfu", ...}; sends it to the callbacks."""
        ev = {"kind": kind, "step": self.step, "tokens": self.tokens, "elapsed": round(self.elapsed(), 3),
              "train_loss": self.train_loss, "val_loss": self.val_loss, "tokens_per_s": self._tokens_per_s,
              "lr": self._lr, "mfu": mfu(self.model_config, self._tokens_per_s, self.peak, self.world)}
        ev.update(extra)
        if kind != "sample":
            self.history.append(ev)
        if self.is_main:
            for callback in self.callbacks:
                callback(ev)
        return ev

    def _diverged(self, what: str) -> TrainingDiverged:
        kept = (f"The last good checkpoint (step {self.last_saved_step}) is kept in {self.out_dir}."
                if self.last_saved_step is not None else "No checkpoint had been saved yet.")
        return TrainingDiverged(f"training diverged at step {self.step}: {what}. {kept} Try a smaller learning "
                                f"rate (lr={self.config.lr}), a longer warmup or gradient clipping.")

    def _evaluate_and_record(self):
        """Evaluate, keep the best validation loss, send the "eval" event; TrainingDiverged on NaN."""
        self.val_loss = self.evaluate()
        if self.best_val_loss is None or self.val_loss < self.best_val_loss:
            self.best_val_loss = self.val_loss
        self.event("eval")
        if not math.isfinite(self.val_loss):
            raise self._diverged(f"the validation loss became {self.val_loss}")

    def fit(self) -> dict:
        """Train until max_steps, the target validation loss, max_seconds or stop(); returns
        the summary (also sent as the "end" event). Raises TrainingDiverged on a NaN loss."""
        cfg = self.config
        dist = active_dist()
        per_step = cfg.tokens_per_step * self.world
        self._t0 = time.perf_counter()
        self._lr = lr_at(self.step, cfg.lr, cfg.min_lr, cfg.warmup_steps, cfg.max_steps)
        self._tokens_per_s = None
        status = "done"
        bar = None
        if self.progress and self.is_main:
            from tqdm.auto import tqdm

            bar = tqdm(total=cfg.max_steps, initial=self.step, unit="step", dynamic_ncols=True, desc="training")
        window_loss, window_steps = torch.zeros((), device=self.device), 0
        window_t0 = time.perf_counter()
        train_time, train_tokens = 0.0, 0
        evaluated_at = None
        try:
            while self.step < cfg.max_steps:
                self._lr = lr_at(self.step, cfg.lr, cfg.min_lr, cfg.warmup_steps, cfg.max_steps)
                set_lr(self.optimizer, self._lr)
                window_loss += self._train_step()
                window_steps += 1
                self.step += 1
                self.tokens += per_step
                s, last = self.step, self.step == cfg.max_steps
                do_eval = self.val_ids is not None and (last or (cfg.eval_interval and s % cfg.eval_interval == 0
                                                                 and s >= cfg.eval_start))
                do_sample = cfg.sample_interval and (s % cfg.sample_interval == 0 or last)
                do_save = self.out_dir is not None and cfg.ckpt_interval and s % cfg.ckpt_interval == 0
                if not (s % cfg.log_interval == 0 or last or do_eval or do_sample or do_save):
                    continue
                # Log: one sync with the device; the mean loss over all processes.
                stop = self._stop or (cfg.max_seconds is not None and self.elapsed() >= cfg.max_seconds)
                packed = torch.stack([window_loss / window_steps, torch.tensor(float(stop), device=self.device)])
                if dist:
                    dist.all_reduce(packed)
                    packed[0] /= self.world
                loss, stop = packed.tolist()
                dt = time.perf_counter() - window_t0
                train_time += dt
                train_tokens += window_steps * per_step
                self._tokens_per_s = window_steps * per_step / dt if dt > 0 else None
                self.train_loss = loss
                window_loss.zero_()
                window_steps = 0
                if not math.isfinite(loss):
                    raise self._diverged(f"the training loss became {loss}")
                self.event("step")
                if bar is not None:
                    bar.set_postfix(loss=f"{loss:.4f}", tok_s=f"{self._tokens_per_s or 0:,.0f}", refresh=False)
                    bar.update(s - bar.n)
                if do_eval:
                    self._evaluate_and_record()
                    evaluated_at = s
                    if cfg.target_val_loss is not None and self.val_loss <= cfg.target_val_loss:
                        self.time_to_target = self.elapsed()
                        status = "target reached"
                        break
                if do_sample and self.is_main:
                    self.event("sample", sample=self.sample())
                if do_save and not last:
                    self.save()
                if stop or (self._stop and self.world == 1):  # with several processes: at the next log
                    status = "stopped" if self._stop else "time limit"
                    break
                window_t0 = time.perf_counter()  # evaluation, samples and saving do not count as training time
            if self.val_ids is not None and evaluated_at != self.step:
                self._evaluate_and_record()
            self.save()
        except TrainingDiverged:
            self.event("end", status="diverged")
            raise
        except KeyboardInterrupt:  # in a notebook: stop cleanly, keep the model as it is
            status = "interrupted"
        finally:
            if bar is not None:
                bar.close()
        self._tokens_per_s = train_tokens / train_time if train_time > 0 else None
        self.elapsed_before, self._t0 = self.elapsed(), None  # a later fit() continues the clock
        summary = {
            "status": status,
            "steps": self.step,
            "tokens": self.tokens,
            "elapsed": round(self.elapsed(), 3),
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            "best_val_loss": self.best_val_loss,
            "target_val_loss": cfg.target_val_loss,
            "target_reached": self.time_to_target is not None,
            "time_to_target": None if self.time_to_target is None else round(self.time_to_target, 3),
            "tokens_per_s": self._tokens_per_s,
            "mfu": mfu(self.model_config, self._tokens_per_s, self.peak, self.world),
            "params": self.raw_model.num_params(),
            "flops_per_token": flops_per_token(self.model_config),
            "device": str(self.device),
            "dtype": str(self.dtype).replace("torch.", ""),
            "world_size": self.world,
            "out_dir": str(self.out_dir) if self.out_dir else None,
        }
        self.summary = summary
        self.event("end", **summary)
        return summary
