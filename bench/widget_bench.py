"""Benchmark the widgets: how fast they answer, and what the dashboard costs training.

Targets (issue "The widgets"), with the shipped word-level model (data/checkpoints/
shakespeare-bpe: 6 layers, 8 heads, width 256, vocabulary 2048, context 256) or, until it
exists, a randomly initialised GPT of exactly that shape with the course's BPE tokenizer
(the timing is the same):
- next-word explorer: a slider change re-renders in <= 30 ms (median);
- attention explorer: a 64-token text in <= 50 ms (median);
- training dashboard: slows training by no more than a few percent.

By default everything runs inside a real Jupyter kernel (started with jupyter_client), so
the widgets have open comms and every figure update is serialised and sent as it would be
to JupyterLab; the client drains the messages. `--direct` runs in this process instead
(no comms: the pure Python side).

    python bench/widget_bench.py                  # print the figures
    python bench/widget_bench.py --write-results  # also record them in bench/RESULTS.md
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

RESULTS = REPO / "bench" / "RESULTS.md"
COMMAND = "python bench/widget_bench.py --write-results"
LIMITS = {"next_word_slider_ms": 30.0, "attention_text_ms": 50.0}

PROMPT = ("ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n"
          "Arise, fair sun, and kill the envious moon,\n")
ATTENTION_TEXT = ("ROMEO:\nBut soft, what light through yonder window breaks? It is the east, and Juliet is the "
                  "sun. Arise, fair sun, and kill the envious moon, who is already sick and pale with grief, "
                  "that thou her maid art far more fair than she.")


def machine() -> str:
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = f", load average {os.getloadavg()[0]:.1f} at the start" if hasattr(os, "getloadavg") else ""
    return (f"{cores} CPU cores ({platform.machine()}), torch {torch.__version__} with {torch.get_num_threads()} "
            f"threads, Python {platform.python_version()}{load}")


def model_and_tokenizer():
    """The shipped shakespeare-bpe model, or a random GPT of its shape with the course's BPE."""
    import torch

    from course_lib.checkpoint import load_pretrained, shipped_models
    from course_lib.model import GPT, GPTConfig
    from course_lib.tokenizer import load_tokenizer

    if "shakespeare-bpe" in shipped_models():
        model, tokenizer, _ = load_pretrained("shakespeare-bpe")
        return model.eval(), tokenizer, "shipped shakespeare-bpe checkpoint"
    tokenizer = load_tokenizer(REPO / "data" / "tokenizer_bpe.json")
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=256, n_layer=6, n_head=8, n_embd=256)
    return GPT(config).eval(), tokenizer, "random GPT of the shipped shape (6 layers, 8 heads, 256 wide, vocab 2048, context 256)"


def _median_ms(fn, values, repeats=1):
    times = []
    for _ in range(repeats):
        for v in values:
            t0 = time.perf_counter()
            fn(v)
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), len(times)


def bench_next_word(model, tokenizer) -> dict:
    from course_lib.widgets import NextWordExplorer

    explorer = NextWordExplorer(model, tokenizer, prompt=PROMPT)
    n_tokens = len(tokenizer.encode(PROMPT))
    temps = [0.3 + 0.05 * i for i in range(30)]

    def set_temp(t):
        explorer.temperature = t

    def set_top_k(k):
        explorer.top_k = k

    slider, n = _median_ms(set_temp, temps, repeats=2)
    top_k, _ = _median_ms(set_top_k, [5, 10, 20, 40, 0] * 6)
    passes = explorer.forward_passes
    prompts = [PROMPT + " " + w for w in ("and", "the", "my", "her", "thy", "a", "to", "his", "in", "of") * 2]

    def set_prompt(p):
        explorer.prompt = p

    prompt_ms, _ = _median_ms(set_prompt, prompts)
    long_prompt = (PROMPT * 8)
    long_tokens = len(tokenizer.encode(long_prompt))
    long_ms, _ = _median_ms(set_prompt, [long_prompt + w for w in ("a", "b", "c", "d", "e", "f", "g", "h")])
    explorer.prompt = PROMPT
    t0 = time.perf_counter()
    for _ in range(10):
        explorer.sample()
    sample_ms = (time.perf_counter() - t0) * 100
    return {"slider_ms": slider, "slider_n": n, "top_k_ms": top_k, "model_runs_during_sliders": passes,
            "prompt_ms": prompt_ms, "prompt_tokens": n_tokens, "long_prompt_ms": long_ms,
            "long_prompt_tokens": min(long_tokens, model.config.block_size), "sample_ms": sample_ms}


def bench_attention(model, tokenizer) -> dict:
    from course_lib.widgets import AttentionExplorer

    ids = tokenizer.encode(ATTENTION_TEXT)[:64]
    text = tokenizer.decode(ids)
    assert len(tokenizer.encode(text)) == 64, "the benchmark text must be 64 tokens"
    explorer = AttentionExplorer(model, tokenizer, text=text, query=10)
    variants = [tokenizer.decode(ids[:-1] + [ids[-1] + k]) for k in range(1, 21)]
    variants = [v for v in variants if len(tokenizer.encode(v)) == 64][:16]

    def set_text(t):
        explorer.text = t

    text_ms, n = _median_ms(set_text, variants)  # showing layer 0: one block of the model
    explorer.layer = 5
    deep_text_ms, _ = _median_ms(set_text, variants)  # showing the last layer: all 6 blocks
    explorer.layer = 0

    def set_head(h):
        explorer.head = h

    head_ms, _ = _median_ms(set_head, list(range(8)) * 3)

    def set_layer(layer):
        explorer.layer = layer

    layer_ms, _ = _median_ms(set_layer, list(range(6)) * 3)
    explorer.head = "all"
    grid_ms, _ = _median_ms(set_layer, list(range(6)) * 3)
    explorer.head = 0
    explorer.text = text

    def set_query(q):
        explorer.query = q

    query_ms, _ = _median_ms(set_query, list(range(0, 64, 3)))
    return {"text_ms": text_ms, "text_n": n, "deep_text_ms": deep_text_ms, "head_ms": head_ms,
            "layer_ms": layer_ms, "grid_ms": grid_ms,
            "query_ms": query_ms, "tokens": 64}


def bench_embedding(model, tokenizer) -> dict:
    from course_lib.widgets import EmbeddingExplorer

    t0 = time.perf_counter()
    explorer = EmbeddingExplorer(model, tokenizer)
    create_ms = (time.perf_counter() - t0) * 1000
    words = ["king", "queen", "love", "death", "sword", "night", "day", "lord", "lady", "sweet"]

    def set_token(w):
        explorer.token = w

    token_ms, _ = _median_ms(set_token, words)

    def set_whole(v):
        explorer.whole_words = v

    whole_ms, _ = _median_ms(set_whole, [True, False] * 3)
    return {"create_ms": create_ms, "token_ms": token_ms, "whole_words_ms": whole_ms}


def bench_dashboard(steps=150, rounds=3) -> dict:
    """Training steps/s of a small character model, with and without the dashboard attached.

    log_interval=1: the trainer calls the callbacks after every step (the worst case).
    Rounds alternate (without, with, without, with, ...) so that a change in the machine's
    load hits both alike; the best round of each is compared.
    """
    import torch

    from course_lib.data import load_corpus
    from course_lib.tokenizer import CharTokenizer
    from course_lib.train import TrainConfig, Trainer
    from course_lib.widgets import TrainingDashboard

    text = load_corpus()[:300_000]
    tokenizer = CharTokenizer.train(text)
    ids = torch.tensor(tokenizer.encode(text))
    config = TrainConfig(n_layer=2, n_head=4, n_embd=64, block_size=64, batch_size=16, max_steps=steps,
                         warmup_steps=10, eval_interval=0, log_interval=1, device="cpu", seed=0,
                         num_threads=torch.get_num_threads())
    results = {"without": [], "with": []}
    redraws = 0
    shares = []  # per round with the dashboard: time inside its callback / the whole run
    for _ in range(rounds):
        for mode in ("without", "with"):
            callbacks = []
            dashboard = None
            spent = [0.0]
            if mode == "with":
                dashboard = TrainingDashboard(vocab_size=tokenizer.vocab_size)

                def timed(event, dashboard=dashboard, spent=spent):
                    t = time.perf_counter()
                    dashboard.callback(event)
                    spent[0] += time.perf_counter() - t

                callbacks = [timed]
            trainer = Trainer(config, ids[:270_000], None, tokenizer=tokenizer, callbacks=callbacks, progress=False)
            t0 = time.perf_counter()
            trainer.fit()
            total = time.perf_counter() - t0
            results[mode].append(steps / total)
            if dashboard is not None:
                redraws = dashboard.redraws
                shares.append(100 * spent[0] / total)
    best_without, best_with = max(results["without"]), max(results["with"])
    # Also the cost of one redraw, and of one recorded event without a redraw.
    dashboard = TrainingDashboard(min_interval=0)
    event = {"kind": "step", "step": 1, "tokens": 2048, "elapsed": 0.1, "train_loss": 3.0, "tokens_per_s": 1e4}
    for i in range(500):
        dashboard.callback({**event, "step": i})
    t0 = time.perf_counter()
    for i in range(20):
        dashboard.refresh()
    redraw_ms = (time.perf_counter() - t0) * 50
    dashboard.min_interval = 3600
    t0 = time.perf_counter()
    for i in range(1000):
        dashboard.callback({**event, "step": 500 + i})
    record_us = (time.perf_counter() - t0) * 1000
    return {"steps": steps, "rounds": rounds, "without": results["without"], "with": results["with"],
            "steps_per_s_without": best_without, "steps_per_s_with": best_with,
            "slowdown_pct": 100 * (1 - best_with / best_without), "redraws": redraws,
            "callback_share_pct": shares,
            "redraw_ms": redraw_ms, "record_us": record_us}


def _progress(message):
    print(f"[widget_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_all(dashboard_steps=150, threads=None, only=None) -> dict:
    """Every benchmark, in this process (whatever kernel it is)."""
    import torch

    if threads:
        torch.set_num_threads(threads)

    model, tokenizer, which = model_and_tokenizer()
    with torch.no_grad():  # warm up torch and plotly once, outside the timings
        model(torch.tensor([tokenizer.encode(PROMPT)]))
    from course_lib.widgets import NextWordExplorer

    NextWordExplorer(model, tokenizer, prompt="Hello")
    result = {"machine": machine(), "model": which}
    for name, fn in (("next_word", bench_next_word), ("attention", bench_attention), ("embedding", bench_embedding)):
        if only in (None, name):
            _progress(name)
            result[name] = fn(model, tokenizer)
    if only in (None, "dashboard"):
        _progress("dashboard")
        result["dashboard"] = bench_dashboard(steps=dashboard_steps)
    return result


def run_in_kernel(dashboard_steps=150, threads=None, only=None, timeout=1800) -> dict:
    """run_all() inside a fresh Jupyter kernel, draining the widget messages it sends."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(REPO))
    code = (
        "import importlib.util, json, sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        f"spec = importlib.util.spec_from_file_location('widget_bench', {str(Path(__file__).resolve())!r})\n"
        "wb = importlib.util.module_from_spec(spec); spec.loader.exec_module(wb)\n"
        f"print('RESULT' + json.dumps(wb.run_all({dashboard_steps}, {threads}, {only!r})))\n"
    )
    messages = {"comm_msg": 0, "comm_open": 0}
    out = []
    try:
        msg_id = kc.execute(code)
        deadline = time.time() + timeout
        while True:
            msg = kc.get_iopub_msg(timeout=max(1, deadline - time.time()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind in messages:
                messages[kind] += 1
            elif kind == "stream":
                if msg["content"]["name"] == "stderr":
                    print(msg["content"]["text"], end="", file=sys.stderr, flush=True)
                else:
                    out.append(msg["content"]["text"])
            elif kind == "error":
                raise RuntimeError("\n".join(msg["content"]["traceback"]))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                break
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    text = "".join(out)
    line = next(l for l in text.splitlines() if l.startswith("RESULT"))
    result = json.loads(line[len("RESULT"):])
    result["kernel_messages"] = messages
    return result


def report(r: dict, mode: str) -> str:
    nw, at, em, db = r["next_word"], r["attention"], r["embedding"], r["dashboard"]

    def verdict(value, limit):
        return "ok" if value <= limit else "OVER"

    where = ("inside a Jupyter kernel (widgets with open comms: every update serialised and sent; "
             f"{r['kernel_messages']['comm_msg']:,} comm messages drained)") if mode == "kernel" else \
        "in a plain Python process (no comms)"
    return "\n".join([
        "## Widgets",
        "",
        f"The explorers of `course_lib/widgets/` with the {r['model']}, run {where}.",
        "Each figure is the median over repeated changes; \"ms\" = milliseconds from setting the value "
        "in Python to the figure being updated (model work + plotly update).",
        "",
        f"- Machine: {r['machine']}",
        f"- Command: `{COMMAND}`",
        f"- Date: {datetime.date.today().isoformat()}",
        "- The machine is shared with other jobs (see the load average): on a quiet machine the times are lower.",
        "",
        "| widget | change | median | target |",
        "|---|---|---|---|",
        f"| next-word | temperature slider ({nw['slider_n']} moves, prompt of {nw['prompt_tokens']} tokens) | "
        f"{nw['slider_ms']:.1f} ms | <= {LIMITS['next_word_slider_ms']:.0f} ms: {verdict(nw['slider_ms'], LIMITS['next_word_slider_ms'])} |",
        f"| next-word | top-k slider | {nw['top_k_ms']:.1f} ms | |",
        f"| next-word | model runs during the {2 * nw['slider_n']} slider moves (cached logits) | "
        f"{nw['model_runs_during_sliders']} | 1 |",
        f"| next-word | new prompt ({nw['prompt_tokens']} tokens: one forward pass) | {nw['prompt_ms']:.1f} ms | |",
        f"| next-word | new prompt ({nw['long_prompt_tokens']} tokens, the full context) | {nw['long_prompt_ms']:.1f} ms | |",
        f"| next-word | sample button (mean of 10) | {nw['sample_ms']:.1f} ms | |",
        f"| attention | new {at['tokens']}-token text, layer 0 shown (block 0 + heatmap + row chart) | "
        f"{at['text_ms']:.1f} ms | <= {LIMITS['attention_text_ms']:.0f} ms: "
        f"{verdict(at['text_ms'], LIMITS['attention_text_ms'])} |",
        f"| attention | new {at['tokens']}-token text, last layer shown (all 6 blocks) | {at['deep_text_ms']:.1f} ms | "
        f"<= {LIMITS['attention_text_ms']:.0f} ms: {verdict(at['deep_text_ms'], LIMITS['attention_text_ms'])} |",
        f"| attention | other head | {at['head_ms']:.1f} ms | |",
        f"| attention | other layer (computed once, when first shown) | {at['layer_ms']:.1f} ms | |",
        f"| attention | other layer, all 8 heads as a grid | {at['grid_ms']:.1f} ms | |",
        f"| attention | other query token (row chart) | {at['query_ms']:.1f} ms | |",
        f"| embedding | open (token strings, PCA of 2048 x 256) | {em['create_ms']:.0f} ms | |",
        f"| embedding | new token (neighbours + redraw) | {em['token_ms']:.1f} ms | |",
        f"| embedding | whole-words filter on/off (new PCA) | {em['whole_words_ms']:.1f} ms | |",
        "",
        f"Training dashboard: a small character model (2 layers, width 64, context 64, batch 16: fast steps, the hardest case for the dashboard) trained "
        f"{db['steps']} steps on the CPU, the trainer calling the callbacks after every step "
        f"(log_interval=1, the worst case); {db['rounds']} alternating rounds each, best round:",
        "",
        "| | steps/s |",
        "|---|---|",
        f"| without the dashboard | {db['steps_per_s_without']:.2f} (rounds: {', '.join(f'{v:.2f}' for v in db['without'])}) |",
        f"| with the dashboard (redraws at most every 0.5 s: {db['redraws']} redraws) | {db['steps_per_s_with']:.2f} "
        f"(rounds: {', '.join(f'{v:.2f}' for v in db['with'])}) |",
        f"| difference of the best rounds | {db['slowdown_pct']:.1f} % |",
        "",
        "The rounds scatter widely on this shared machine, so the difference of two runs says little. "
        "Measured inside the runs themselves: the dashboard's callback (recording every event, redrawing at "
        f"most every 0.5 s) took {', '.join(f'{v:.2f}' for v in db['callback_share_pct'])} % of each run's time "
        f"(max {max(db['callback_share_pct']):.2f} %).",
        "",
        f"One redraw of a 500-point chart costs {db['redraw_ms']:.1f} ms; recording an event without a redraw "
        f"{db['record_us']:.1f} µs. With redraws at most every 0.5 s the dashboard takes at most about "
        f"{db['redraw_ms'] / 5:.1f} % of the training time, whatever the step rate.",
        "",
    ])


def write_results(section: str) -> None:
    """Put the section into RESULTS.md, replacing an earlier "## Widgets" section."""
    from results import write_section

    write_section("Widgets", section)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--direct", action="store_true", help="run in this process instead of a Jupyter kernel")
    parser.add_argument("--dashboard-steps", type=int, default=150)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's own; on a busy shared machine 1 avoids "
                        "threads waiting for each other)")
    parser.add_argument("--write-results", action="store_true", help=f"record the figures in {RESULTS.name}")
    parser.add_argument("--json", help="also write the raw figures to this JSON file")
    parser.add_argument("--only", choices=["next_word", "attention", "embedding", "dashboard"],
                        help="run one benchmark and print its raw figures (no report)")
    args = parser.parse_args(argv)
    if args.direct:
        r, mode = run_all(args.dashboard_steps, args.threads, args.only), "direct"
    else:
        r, mode = run_in_kernel(args.dashboard_steps, args.threads, args.only), "kernel"
    if args.only:
        print(json.dumps(r, indent=1))
        return 0
    section = report(r, mode)
    print(section)
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))
    if args.write_results:
        write_results(section)
        print(f"Wrote the section to {RESULTS}")
    over = [k for k, v in (("next_word_slider_ms", r["next_word"]["slider_ms"]),
                           ("attention_text_ms", r["attention"]["text_ms"])) if v > LIMITS[k]]
    if over:
        print(f"OVER the target: {over}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
