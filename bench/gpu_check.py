"""Check the training loop on an NVIDIA GPU: speed (tokens/s, MFU) and a real run.

1. Throughput: the GPT-2-small-shaped model (12 layers, 12 heads, width 768, context 1024,
   vocabulary 50304) trains on random tokens through `course_lib.train.Trainer` with bf16
   autocast, torch.compile, fused AdamW and flash attention (SDPA) for --seconds after a
   warmup (the compilation is not counted). Prints tokens/s and MFU, with the FLOPs per
   token from `course_lib.scale.flops_per_token` (6N + 12LTC) against the GPU's peak from
   `course_lib.scale.PEAK_FLOPS`. Goal: MFU >= 45% on one H100.
2. A real run: `python -m course_lib.train` on the character-level corpus for
   --train-seconds on the GPU, printing its JSON lines; the validation loss must fall.

    python bench/gpu_check.py --out results/       # on a CUDA machine
    python bench/gpu_check.py --smoke              # the same logic on the CPU, tiny shapes

On a machine without CUDA (and without --smoke) it says so and exits with status 0.
"""
import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from course_lib.model import GPT  # noqa: E402
from course_lib.scale import flops_per_token, peak_flops  # noqa: E402
from course_lib.train import TrainConfig, Trainer  # noqa: E402


def say(msg=""):
    print(msg, flush=True)


# Changes measured one at a time on top of the plain run (--variants): what each one buys.
VARIANTS = {
    "base": {},
    "fused": dict(fused_loss=True),  # output layer + loss in chunks: the fp32 logits never exist
    "nobias": dict(bias=False),  # no biases in linear layers and layer norms (fewer small kernels)
    "autotune": dict(compile_mode="max-autotune-no-cudagraphs"),  # Triton kernels tuned for these shapes
}


def variant_settings(name: str) -> dict:
    """'fused+nobias' -> the TrainConfig settings of both; ValueError for an unknown part."""
    settings = {}
    for part in name.split("+"):
        if part not in VARIANTS:
            raise ValueError(f"unknown variant part {part!r}; parts: {sorted(VARIANTS)} joined with '+'")
        settings.update(VARIANTS[part])
    return settings


def throughput(args, device, overrides=None) -> dict:
    """Train the GPT-2-small shape on random tokens; tokens/s and MFU after the warmup."""
    if args.smoke:
        shape = dict(n_layer=2, n_head=2, n_embd=64, block_size=128, compile=args.compile)
        vocab = 512
    else:
        shape = dict(compile=not args.no_compile)
        vocab = 50304  # GPT-2's 50257 rounded up to a multiple of 128: friendlier matrix shapes
    batch = args.batch_size
    while True:
        config = TrainConfig.from_preset("gpt2-small-shape", device=str(device), batch_size=batch,
                                         max_steps=10**6, warmup_steps=100, eval_interval=0,
                                         log_interval=args.log_interval, **shape, **(overrides or {}))
        torch.manual_seed(0)
        data = torch.randint(0, vocab, (20_000_000 if not args.smoke else 200_000,))
        model = GPT(config.model_config(vocab))
        marks = []  # (time, tokens, step) at each logged step

        def watch(event):
            if event["kind"] != "step":
                return
            marks.append((time.perf_counter(), event["tokens"], event["step"]))
            if event["step"] >= args.warmup_steps and marks[-1][0] - first_after_warmup(marks) >= args.seconds:
                trainer.stop()

        def first_after_warmup(ms):
            return next(t for t, _, s in ms if s >= args.warmup_steps)

        try:
            trainer = Trainer(config, data, None, model=model, callbacks=[watch], progress=False)
            say(f"[throughput] {trainer.model.num_params() / 1e6:.1f}M parameters, batch {batch} x "
                f"{config.block_size} tokens, dtype {trainer.dtype}, compile {config.compile}, device {device}")
            t0 = time.perf_counter()
            trainer.fit()
        except torch.cuda.OutOfMemoryError:
            del model
            trainer = None
            gc.collect()
            torch.cuda.empty_cache()
            if batch == 1:
                raise
            say(f"[throughput] batch {batch} does not fit in memory; trying {batch // 2}")
            batch //= 2
            continue
        break
    after = [m for m in marks if m[2] >= args.warmup_steps]
    if len(after) < 2:
        raise SystemExit(f"[throughput] only {len(marks)} logged steps: too few to measure; raise --seconds")
    (t_a, tok_a, step_a), (t_b, tok_b, step_b) = after[0], after[-1]
    tokens_per_s = (tok_b - tok_a) / (t_b - t_a)
    fpt = flops_per_token(trainer.model_config)
    peak = peak_flops(device)
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else str(device),
        "params": trainer.model.num_params(),
        "batch_size": batch,
        "block_size": config.block_size,
        "dtype": str(trainer.dtype).replace("torch.", ""),
        "compile": config.compile,
        "settings": overrides or {},
        "warmup_seconds": round(t_a - t0, 1),
        "measured_seconds": round(t_b - t_a, 1),
        "measured_steps": step_b - step_a,
        "tokens_per_s": round(tokens_per_s),
        "flops_per_token": fpt,
        "peak_flops": peak,
        "mfu": None if peak is None else fpt * tokens_per_s / peak,
        "train_loss": trainer.train_loss,
        "peak_memory_gb": round(torch.cuda.max_memory_allocated(device) / 1e9, 1) if device.type == "cuda" else None,
    }
    mfu_text = "n/a (no peak FLOP/s known for this device)" if result["mfu"] is None else f"{result['mfu']:.1%}"
    say(f"[throughput] warmup (compilation included) {result['warmup_seconds']} s; then {result['measured_steps']} "
        f"steps in {result['measured_seconds']} s: {tokens_per_s:,.0f} tokens/s, "
        f"{fpt * tokens_per_s / 1e12:.1f} TFLOP/s, MFU {mfu_text}")
    del trainer, model
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return result


def find_text(path=None) -> Path:
    """The text for the real run: --data, else the cached course corpus, else the benchmark
    text beside the checkout, else the repository's own documentation and code."""
    if path:
        return Path(path)
    from course_lib.data import corpus_path

    for candidate in (corpus_path(), REPO.parent / "shared" / "bench" / "tinyshakespeare.txt"):
        if candidate.exists():
            return candidate
    out = Path(tempfile.mkdtemp(prefix="gpu_check_")) / "repo_text.txt"
    parts = [p.read_text(encoding="utf-8", errors="ignore") for p in sorted(REPO.rglob("*"))
             if p.suffix in (".py", ".md") and ".venv" not in p.parts and p.is_file()]
    out.write_text("\n".join(parts), encoding="utf-8")
    return out


def real_run(args, device) -> dict:
    """`python -m course_lib.train` for a short while; the JSON lines it prints."""
    text = find_text(args.data)
    if args.smoke:
        settings = ["--n-layer", "2", "--n-embd", "64", "--n-head", "2", "--block-size", "64", "--batch-size", "16",
                    "--eval-interval", "50", "--eval-batches", "10"]
    else:
        settings = ["--eval-interval", "250", "--eval-batches", "50"]
    with tempfile.TemporaryDirectory(prefix="gpu_check_run_") as out:
        cmd = [sys.executable, "-m", "course_lib.train", "--data", str(text), "--tokenizer", "char",
               "--preset", "shakespeare-char", "--device", device.type, "--max-seconds", str(args.train_seconds),
               "--out", out, "--no-progress", *settings]
        say(f"[real run] {' '.join(cmd[1:])}")
        say(f"[real run] text: {text} ({text.stat().st_size:,} bytes)")
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=str(REPO)))
        wall = time.perf_counter() - t0
    lines = []
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            say(line)
            lines.append(json.loads(line))
    if proc.returncode != 0:
        say(proc.stderr[-3000:])
        return {"ok": False, "exit_code": proc.returncode, "lines": lines}
    evals = [x for x in lines if x["kind"] == "eval"]
    first, last = evals[0]["val_loss"], evals[-1]["val_loss"]
    ok = len(evals) >= 2 and last < first
    say(f"[real run] {wall:.0f} s wall; validation loss {first:.3f} -> {last:.3f}: "
        f"{'falls, OK' if ok else 'did NOT fall'}")
    return {"ok": ok, "exit_code": 0, "wall_seconds": round(wall, 1), "text": str(text), "lines": lines}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="measured training time for the throughput")
    parser.add_argument("--warmup-steps", type=int, default=30, help="steps left out of the measurement")
    parser.add_argument("--batch-size", type=int, default=32, help="sequences of 1024 tokens per step")
    parser.add_argument("--log-interval", type=int, default=10, help="steps between loss reads (device syncs)")
    parser.add_argument("--no-compile", action="store_true", help="leave torch.compile out")
    parser.add_argument("--compile", action="store_true", help="(with --smoke) compile on the CPU too")
    parser.add_argument("--train-seconds", type=float, default=30, help="length of the real run")
    parser.add_argument("--data", help="text for the real run (default: the corpus cache or the benchmark text)")
    parser.add_argument("--variants", nargs="+", default=["base"],
                        help=f"throughput runs, each a '+'-joined set of {sorted(VARIANTS)}, e.g. base fused fused+nobias")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-real-run", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="run the logic on the CPU with tiny shapes")
    parser.add_argument("--out", help="folder for gpu_check.json")
    args = parser.parse_args(argv)

    if args.smoke:
        device = torch.device("cpu")
        args.seconds = min(args.seconds, 3)
        args.warmup_steps = min(args.warmup_steps, 5)
        args.batch_size = min(args.batch_size, 4)
        args.log_interval = 1
        args.train_seconds = min(args.train_seconds, 8)
    elif not torch.cuda.is_available():
        say("gpu_check: no CUDA GPU is visible here, so there is nothing to measure. Run it on a machine "
            "with an NVIDIA GPU, or use --smoke to run its logic on the CPU with a tiny model.")
        return 0
    else:
        device = torch.device("cuda")
    say(f"gpu_check: torch {torch.__version__}, device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else " (smoke test)"))
    results = {"torch": torch.__version__, "smoke": args.smoke}
    if not args.skip_throughput:
        runs = {}
        for name in args.variants:
            say(f"[variant] {name}: {variant_settings(name) or 'the plain run'}")
            try:
                runs[name] = throughput(args, device, variant_settings(name))
            except Exception as e:  # one failed variant must not cost the others' figures
                say(f"[variant] {name} failed: {type(e).__name__}: {e}")
                runs[name] = {"error": f"{type(e).__name__}: {e}"}
        results["throughput"] = runs.get("base") or next(iter(runs.values()))
        results["variants"] = runs
        say("\n| variant | tokens/s | MFU | peak memory GB |\n|---|---|---|---|")
        for name, r in runs.items():
            mfu = "n/a" if r.get("mfu") is None else f"{r['mfu']:.1%}"
            say(f"| {name} | {r.get('tokens_per_s', 'failed')} | {mfu} | {r.get('peak_memory_gb')} |")
    if not args.skip_real_run:
        results["real_run"] = real_run(args, device)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "gpu_check.json").write_text(json.dumps(results, indent=2) + "\n")
        say(f"results written to {out / 'gpu_check.json'}")
    ok = results.get("real_run", {"ok": True})["ok"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
