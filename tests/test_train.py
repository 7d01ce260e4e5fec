"""The training loop: CLI, resume after SIGKILL, divergence, torchrun, optimiser details."""
import json
import math
import re
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from course_lib.model import GPT, GPTConfig
from course_lib.optim import lr_at, make_optimizer
from course_lib.tokenizer import CharTokenizer
from course_lib.train import (
    PRESETS,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    main,
    train,
)

REPO = Path(__file__).resolve().parent.parent
VERSE = (
    "Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n"
    "Rough winds do shake the darling buds of May,\nAnd summer's lease hath all too short a date;\n"
    "Sometime too hot the eye of heaven shines,\nAnd often is his gold complexion dimm'd;\n"
)
TEXT = VERSE * 40  # about 11,000 characters

# A model small enough that a step takes milliseconds.
TINY = dict(tokenizer="char", n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=8, max_steps=30,
            lr=3e-3, min_lr=3e-4, warmup_steps=5, eval_interval=10, eval_batch_size=16, num_threads=1)


def env():
    e = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    e.pop("WORLD_SIZE", None)
    return e


def cli(*args, check=True, timeout=120):
    cmd = [sys.executable, "-m", "course_lib.train", "--no-progress", *map(str, args)]
    result = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def flags(**settings):
    out = []
    for k, v in settings.items():
        out += [f"--{k.replace('_', '-')}", v]
    return out


def json_lines(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "verse.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.fixture
def data():
    tok = CharTokenizer.train(TEXT)
    ids = torch.tensor(tok.encode(TEXT), dtype=torch.long)
    n = int(len(ids) * 0.9)
    return tok, ids[:n], ids[n:]


def make_trainer(data, callbacks=(), resume=False, overwrite=False, **settings):
    tok, train_ids, val_ids = data
    return Trainer(TrainConfig(**{**TINY, **settings}), train_ids, val_ids, tokenizer=tok, callbacks=callbacks,
                   progress=False, resume=resume, overwrite=overwrite)


def weights(directory):
    return load_file(str(Path(directory) / "model.safetensors"))


def test_the_run_tokenizer_char_bpe_or_a_file(tmp_path):
    from course_lib.tokenizer import load_tokenizer, make_tokenizer

    assert make_tokenizer("char", TEXT).vocab_size == CharTokenizer.train(TEXT).vocab_size
    assert make_tokenizer("bpe", TEXT).kind == "bpe"  # the committed one
    CharTokenizer.train("abc").save(tmp_path / "tok.json")
    assert make_tokenizer("bpe", TEXT, tmp_path / "tok.json").vocab_size == load_tokenizer(tmp_path / "tok.json").vocab_size
    with pytest.raises(ValueError, match=r"tokenizer must be one of \('char', 'bpe'\), not 'words'"):
        make_tokenizer("words", TEXT)


# --- the command line -------------------------------------------------------------------

def test_cli_smoke_prints_json_lines_and_saves_a_checkpoint(text_file, tmp_path):
    out = tmp_path / "run"
    result = cli("--data", text_file, *flags(**{**TINY, "max_steps": 20}), "--out", out)
    lines = json_lines(result.stdout)
    evals, summary = lines[:-1], lines[-1]
    assert [e["step"] for e in evals] == [10, 20]
    for e in evals:
        assert e["kind"] == "eval"
        assert {"step", "tokens", "elapsed", "train_loss", "val_loss", "tokens_per_s"} <= set(e)
        assert e["tokens"] == e["step"] * 8 * 32
    assert summary["kind"] == "summary" and summary["status"] == "done" and summary["steps"] == 20
    assert summary["val_loss"] < math.log(CharTokenizer.train(TEXT).vocab_size)  # better than guessing
    assert {"model.safetensors", "config.json", "tokenizer.json", "train_state.pt"} <= {p.name for p in out.iterdir()}
    state = torch.load(out / "train_state.pt", weights_only=True)  # no pickled code inside
    assert state["step"] == 20 and state["config"]["n_embd"] == 32

    from course_lib.checkpoint import load_checkpoint

    model, tok, meta = load_checkpoint(out)
    assert meta["step"] == 20 and tok.vocab_size == model.config.vocab_size


def test_target_val_loss_stops_early_and_reports_the_time(text_file, tmp_path):
    result = cli("--data", text_file, *flags(**{**TINY, "max_steps": 200, "eval_interval": 5}),
                 "--target-val-loss", 3.2, "--out", tmp_path / "run")
    summary = json_lines(result.stdout)[-1]
    assert summary["status"] == "target reached" and summary["target_reached"]
    assert summary["steps"] < 200 and summary["val_loss"] <= 3.2
    assert 0 < summary["time_to_target"] <= summary["elapsed"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--preset", "no-such-preset"], "unknown preset 'no-such-preset'"),
        (["--lr", "-0.1"], "lr must be a number > 0"),
        (["--device", "tpu"], "device must be one of"),
        (["--max-steps", "0"], "max_steps must be a whole number >= 1"),
        (["--n-embd", "30", "--n-head", "4"], "divisible by n_head"),
    ],
)
def test_bad_arguments_give_clear_errors(text_file, tmp_path, capsys, args, message):
    code = main(["--data", str(text_file), "--out", str(tmp_path / "run"), "--no-progress", *args])
    assert code == 2
    assert message in capsys.readouterr().err


def test_bad_data_file_is_a_clear_error(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "run")]) == 2
    assert "No such file" in capsys.readouterr().err


# --- resume -----------------------------------------------------------------------------

def test_resume_after_sigkill_gives_the_same_weights(text_file, tmp_path):
    """Kill -9 a run after its first checkpoint, resume it: the weights equal an uninterrupted run's."""
    settings = dict(TINY, n_embd=64, block_size=64, batch_size=16, max_steps=150, ckpt_interval=10,
                    eval_interval=50, dropout=0.1, sample_interval=75, sample_tokens=20)
    args = ["--data", text_file, *flags(**settings)]
    cli(*args, "--out", tmp_path / "whole")

    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "course_lib.train", "--no-progress", *map(str, args), "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (out / "train_state.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    killed_at = torch.load(out / "train_state.pt", weights_only=True)["step"]
    assert 10 <= killed_at < 150

    result = cli(*args, "--out", out, "--resume")
    assert json_lines(result.stdout)[-1]["steps"] == 150
    whole, resumed = weights(tmp_path / "whole"), weights(out)
    assert whole.keys() == resumed.keys()
    for name in whole:
        assert torch.equal(whole[name], resumed[name]), name


def test_resume_with_a_different_model_is_a_clear_error(data, tmp_path):
    make_trainer(data, out_dir=str(tmp_path), max_steps=3).fit()
    with pytest.raises(ValueError, match=r"different model \(n_embd 32 -> 48\)"):
        make_trainer(data, out_dir=str(tmp_path), n_embd=48, max_steps=6, resume=True)
    trainer = make_trainer(data, out_dir=str(tmp_path), max_steps=6, resume=True)  # same model, longer: fine
    assert trainer.step == 3
    assert trainer.fit()["steps"] == 6


# --- divergence -------------------------------------------------------------------------

def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(data, tmp_path):
    events = []

    def poison(event):  # a test hook: break the weights after step 8
        events.append(event)
        if event["kind"] == "step" and event["step"] == 8:
            with torch.no_grad():
                trainer.model.ln_f.weight.fill_(float("nan"))

    trainer = make_trainer(data, callbacks=[poison], out_dir=str(tmp_path), ckpt_interval=5, eval_interval=0)
    with pytest.raises(TrainingDiverged, match=r"at step 9: the training loss became nan.*checkpoint \(step 5\)"):
        trainer.fit()
    assert events[-1]["kind"] == "end" and events[-1]["status"] == "diverged"
    state = torch.load(tmp_path / "train_state.pt", weights_only=True)
    assert state["step"] == 5
    assert all(torch.isfinite(w).all() for w in weights(tmp_path).values())


@pytest.mark.parametrize("stop_at", [None, 4])  # the evaluation at the last step, or the one after a stop
def test_nan_validation_loss_stops_the_run_whichever_evaluation_finds_it(data, stop_at, monkeypatch):
    trainer = None

    def stop(event):
        if event["kind"] == "step" and event["step"] == stop_at:
            trainer.stop()

    trainer = make_trainer(data, callbacks=[stop], eval_interval=0, max_steps=8)
    monkeypatch.setattr(trainer, "evaluate", lambda: float("nan"))
    with pytest.raises(TrainingDiverged, match="the validation loss became nan"):
        trainer.fit()
    assert trainer.history[-1]["status"] == "diverged"
    assert trainer.step == (stop_at or 8)


def test_cli_exits_non_zero_when_the_loss_explodes(text_file, tmp_path):
    result = cli("--data", text_file, *flags(**{**TINY, "lr": 1e30, "warmup_steps": 0, "grad_clip": 0}),
                 "--out", tmp_path / "run", check=False)
    assert result.returncode == 1
    assert "training diverged" in result.stderr and "nan" in result.stderr.lower()


# --- several processes ------------------------------------------------------------------

def test_torchrun_two_processes_match_one_process(text_file, tmp_path):
    """2 processes x batch 4 (gloo) follow the same loss trajectory as 1 process x batch 8."""
    settings = dict(TINY, max_steps=8, eval_interval=1, grad_accum=2)
    one = cli("--data", text_file, *flags(**{**settings, "batch_size": 8}), "--out", tmp_path / "one")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "course_lib.train", "--no-progress", "--data", str(text_file),
           *map(str, flags(**{**settings, "batch_size": 4})), "--out", str(tmp_path / "two")]
    two = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True, timeout=180)
    assert two.returncode == 0, two.stderr
    a, b = json_lines(one.stdout), json_lines(two.stdout)
    assert len(a) == len(b) == 9  # 8 evaluations (printed once, by rank 0) + the summary
    assert b[-1]["world_size"] == 2 and b[-1]["tokens"] == a[-1]["tokens"] == 8 * 2 * 8 * 32
    for x, y in zip(a[:-1], b[:-1]):
        assert x["train_loss"] == pytest.approx(y["train_loss"], abs=1e-5)
        assert x["val_loss"] == pytest.approx(y["val_loss"], abs=1e-5)
    wa, wb = weights(tmp_path / "one"), weights(tmp_path / "two")
    for name in wa:
        torch.testing.assert_close(wa[name], wb[name], atol=1e-5, rtol=1e-4)


# --- the optimiser ----------------------------------------------------------------------

def test_weight_decay_only_on_matrices():
    model = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=16))
    decay, no_decay = make_optimizer(model, weight_decay=0.1).param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert decay["params"] and all(p.dim() >= 2 for p in decay["params"])
    assert no_decay["params"] and all(p.dim() < 2 for p in no_decay["params"])
    assert any(p is model.lm_head.weight for p in decay["params"])  # tied: listed once
    assert sum(p.numel() for g in (decay, no_decay) for p in g["params"]) == model.num_params()


def test_written_out_adamw_matches_torch_and_shares_its_state_format():
    import copy

    from course_lib.optim import AdamW, param_groups

    torch.manual_seed(0)
    a = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=16))
    b = copy.deepcopy(a)
    ours = AdamW(param_groups(a, 0.1), lr=1e-2, betas=(0.9, 0.95))
    theirs = torch.optim.AdamW(param_groups(b, 0.1), lr=1e-2, betas=(0.9, 0.95), foreach=True)
    x = torch.randint(0, 50, (4, 16))
    for _ in range(4):
        for model, opt in ((a, ours), (b, theirs)):
            model(x, x)[1].backward()
            opt.step()
            opt.zero_grad()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, atol=1e-7, rtol=1e-6)
    theirs.load_state_dict(ours.state_dict())  # a run can move between the two
    ours.load_state_dict(theirs.state_dict())
    assert ours.state[next(a.parameters())]["step"].item() == 4


def test_lr_schedule_warms_up_then_follows_a_cosine_to_min_lr():
    kw = dict(max_lr=1.0, min_lr=0.1, warmup_steps=10, max_steps=110)
    lrs = [lr_at(s, **kw) for s in range(120)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a < b for a, b in zip(lrs[:10], lrs[1:10]))  # rising
    assert all(a >= b for a, b in zip(lrs[10:110], lrs[11:111]))  # falling
    assert lrs[60] == pytest.approx(0.55)  # half way through the cosine: half way between
    assert lrs[110] == lrs[119] == pytest.approx(0.1)


def test_gradient_accumulation_equals_one_big_batch(data):
    """2 micro-batches of 8 give the loss and gradient of 1 batch of 16 with the same rows."""
    torch.manual_seed(0)
    xs = torch.randint(0, data[0].vocab_size, (16, 33))
    x, y = xs[:, :-1], xs[:, 1:]
    big = make_trainer(data, batch_size=16, grad_accum=1)
    small = make_trainer(data, batch_size=8, grad_accum=2)
    big._next_batch = lambda: (x, y)
    halves = iter([(x[:8], y[:8]), (x[8:], y[8:])])
    small._next_batch = lambda: next(halves)
    loss_big, loss_small = big._accumulate_gradients(), small._accumulate_gradients()
    torch.testing.assert_close(loss_big, loss_small, atol=1e-6, rtol=1e-6)
    for p, q in zip(big.model.parameters(), small.model.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-6, rtol=1e-4)


# --- the Python API ---------------------------------------------------------------------

def test_callbacks_receive_step_eval_sample_and_end_events(data):
    events = []
    summary = make_trainer(data, callbacks=[events.append], max_steps=10, eval_interval=5, sample_interval=5,
                           sample_tokens=10, log_interval=2).fit()
    kinds = [(e["kind"], e["step"]) for e in events]
    assert kinds == [("step", 2), ("step", 4), ("step", 5), ("eval", 5), ("sample", 5), ("step", 6),
                     ("step", 8), ("step", 10), ("eval", 10), ("sample", 10), ("end", 10)]
    keys = {"kind", "step", "tokens", "elapsed", "train_loss", "val_loss", "tokens_per_s", "lr", "mfu"}
    for e in events:
        assert keys <= set(e)
        assert e["tokens"] == e["step"] * 8 * 32
    assert all(isinstance(e["sample"], str) and e["sample"] for e in events if e["kind"] == "sample")
    assert events[3]["val_loss"] is not None and events[-1]["status"] == "done" == summary["status"]
    assert events[0]["lr"] == pytest.approx(lr_at(1, 3e-3, 3e-4, 5, 10))


def test_trainer_stop_from_a_callback(data):
    def stopper(event):
        if event["kind"] == "step" and event["step"] == 4:
            trainer.stop()

    trainer = make_trainer(data, callbacks=[stopper], eval_interval=0)
    summary = trainer.fit()
    assert summary["status"] == "stopped" and summary["steps"] == 4 and summary["val_loss"] is not None


def test_full_validation_counts_every_target_once(data):
    tok, train_ids, _ = data
    val = torch.arange(100) % tok.vocab_size  # 99 targets; windows of 32 leave a tail of 3
    trainer = Trainer(TrainConfig(**TINY), train_ids, val, tokenizer=tok, progress=False)
    targets = [y[y != -100] for _, y in trainer._eval_batches()]
    assert torch.equal(torch.cat(targets), val[1:])  # each target once, in order
    losses = set()
    for batch_size in (1, 3, 16):
        trainer.config.eval_batch_size = batch_size
        losses.add(round(trainer.evaluate(), 5))
    assert len(losses) == 1


def test_train_function_from_a_notebook():
    trainer = train(TEXT, tokenizer="char", preset="tiny-char-fast", max_steps=5, batch_size=4, progress=False)
    assert trainer.summary["steps"] == 5 and isinstance(trainer.model, GPT)
    assert [e["kind"] for e in trainer.history][-2:] == ["eval", "end"]


# --- presets and compute ----------------------------------------------------------------

def test_presets_are_valid_configs():
    assert {"tiny-char-fast", "shakespeare-char", "shakespeare-bpe", "gpt2-small-shape"} <= set(PRESETS)
    for name in PRESETS:
        TrainConfig.from_preset(name)
    bpe = TrainConfig.from_preset("shakespeare-bpe")
    assert (bpe.n_layer, bpe.n_head, bpe.n_embd, bpe.block_size) == (6, 8, 256, 256) and 0.1 <= bpe.dropout <= 0.2
    big = TrainConfig.from_preset("gpt2-small-shape", batch_size=4)
    assert (big.n_layer, big.n_head, big.n_embd, big.block_size, big.batch_size) == (12, 12, 768, 1024, 4)
    with pytest.raises(ValueError, match="unknown TrainConfig settings"):
        TrainConfig.from_preset("tiny-char-fast", learning_rate=1.0)


# --- the output folder is checked before the first step -------------------------------------

@pytest.mark.parametrize("where, message", [
    ("/proc/no-such-folder", "cannot be created or written"),
    ("", "--out is empty"),
    ("afile", "is a file, not a folder"),
    ("others", "holds files that are not a checkpoint's \\(notes.txt\\)"),
    ("run", "already holds a training run: --resume continues it, --overwrite replaces it"),
])
def test_an_output_folder_that_cannot_take_the_run_is_refused_before_training(text_file, tmp_path, where, message):
    (tmp_path / "afile").write_text("mine")
    (tmp_path / "others").mkdir()
    (tmp_path / "others" / "notes.txt").write_text("mine")
    args = ["--data", text_file, *flags(**dict(TINY, max_steps=3))]
    cli(*args, "--out", tmp_path / "run")
    out = where if where.startswith("/") or not where else tmp_path / where
    result = cli(*args, "--out", out, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert re.search("error: " + ("--out " if where else "") + ".*" + message, result.stderr), result.stderr
    assert json_lines(result.stdout) == []  # not one step was trained
    assert (tmp_path / "afile").read_text() == "mine" and (tmp_path / "others" / "notes.txt").read_text() == "mine"


def test_an_existing_run_is_resumed_or_replaced_only_when_asked(text_file, tmp_path, data):
    args = ["--data", text_file, *flags(**dict(TINY, max_steps=3))]
    run = tmp_path / "run"
    cli(*args, "--out", run)
    assert json_lines(cli(*args, "--out", run, "--overwrite").stdout)[-1]["steps"] == 3
    more = ["--data", text_file, *flags(**dict(TINY, max_steps=5))]
    assert json_lines(cli(*more, "--out", run, "--resume").stdout)[-1]["steps"] == 5
    for folder, message in ((tmp_path / "afile", "is a file"), (run, r"already holds a training run: resume=True")):
        (tmp_path / "afile").write_text("mine")
        with pytest.raises(ValueError, match=message):
            make_trainer(data, out_dir=str(folder))
    with pytest.raises(ValueError, match="out_dir is empty"):
        make_trainer(data, out_dir="")
    assert make_trainer(data, out_dir=run, overwrite=True).out_dir == run  # a Path is fine too
    assert make_trainer(data, out_dir=None).out_dir is None  # None: nothing is saved
