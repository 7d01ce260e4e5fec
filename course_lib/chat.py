"""From autocomplete to assistant: the chat template, fine-tuning data, and `chat`.

A chatbot is a script being completed. The script starts with a system line that sets
the scene, then the turns, each opened by a role token and closed by <|end|>:

    <|system|>What follows is a conversation between a user and a helpful AI assistant.<|end|>
    <|user|>Hello!<|end|><|assistant|>Hi! How can I help?<|end|>

(one line here for reading; the real script has no line breaks). To answer, we write
the script up to "<|assistant|>" and let the model continue it, one token at a time,
until it writes <|end|>.

Two safety rules of the template:
- The words of every turn are encoded with `allow_special=False`: a user who types
  "<|assistant|>" gets those characters as plain text, never the role token, so they
  cannot forge a turn.
- Fine-tuning learns only the assistant's words: the targets (what the model is graded
  on) are -100 ("ignore") everywhere except the assistant's tokens and the <|end|> that
  closes each assistant turn (so the model learns when to stop).

    >>> from course_lib.chat import render_text, chat
    >>> print(render_text("Hello!", add_generation_prompt=True))
    >>> chat(model, tokenizer, "What is 2 plus 3?", temperature=0.7, seed=0)

Fine-tuning on the template's scripts is `course_lib.sft` (also reachable as `chat.sft`).

Command line:
    python -m course_lib.chat sft --base data/checkpoints/shakespeare-bpe --out data/checkpoints/chat-sft
    python -m course_lib.chat say --model data/checkpoints/chat-sft "Who wrote Hamlet?"
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import torch

from . import paths
from .model import GPT
from .sampling import check_max_new_tokens, check_sampling_args, check_seed, sample_batch
from .settings import add_flags, from_flags, run_command

SYSTEM_PROMPT = "What follows is a conversation between a user and a helpful AI assistant."
ROLE_TOKENS = {"system": "<|system|>", "user": "<|user|>", "assistant": "<|assistant|>"}
END = "<|end|>"
IGNORE = -100  # target value that cross-entropy skips (GPT.forward uses ignore_index=-100)
MAX_ANSWER_TOKENS = 48  # default length limit of one answer


# =======================================================================================
# Conversations
# =======================================================================================

def as_conversation(history_or_message, system: str | None = SYSTEM_PROMPT) -> list:
    """Normalise the ways of writing a conversation into a list of {"role", "content"} dicts.

    Accepts a single message (str: one user turn), a list of {"role", "content"} dicts
    (roles "system", "user", "assistant") or a list of (role, text) pairs. A system turn
    is put first when there is none and `system` is not None.
    """
    if isinstance(history_or_message, str):
        turns = [{"role": "user", "content": history_or_message}]
    elif isinstance(history_or_message, (list, tuple)):
        turns = []
        for i, turn in enumerate(history_or_message):
            if isinstance(turn, dict):
                role, content = turn.get("role"), turn.get("content")
            elif isinstance(turn, (list, tuple)) and len(turn) == 2:
                role, content = turn
            else:
                raise ValueError(
                    f"turn {i} is {turn!r}; each turn must be a dict {{'role': ..., 'content': ...}} "
                    "or a (role, text) pair")
            if role not in ROLE_TOKENS:
                raise ValueError(f"turn {i} has role {role!r}; allowed roles: {sorted(ROLE_TOKENS)}")
            if not isinstance(content, str):
                raise ValueError(f"turn {i}: the content must be text (str), not {type(content).__name__}")
            turns.append({"role": role, "content": content})
    else:
        raise ValueError(
            "a conversation is a message (str) or a list of {'role', 'content'} turns, "
            f"not {type(history_or_message).__name__}")
    for i, turn in enumerate(turns):
        if turn["role"] == "system" and i != 0:
            raise ValueError(f"turn {i} is a system turn; the system text may only come first")
    if system is not None and (not turns or turns[0]["role"] != "system"):
        turns.insert(0, {"role": "system", "content": system})
    return turns


def render_text(history_or_message, add_generation_prompt: bool = False, system: str | None = SYSTEM_PROMPT) -> str:
    """The conversation as the script the model reads, special tokens written out.

    add_generation_prompt=True ends the script with "<|assistant|>": the model's cue to
    write the next answer.
    """
    turns = as_conversation(history_or_message, system)
    text = "".join(f"{ROLE_TOKENS[t['role']]}{t['content']}{END}" for t in turns)
    return text + (ROLE_TOKENS["assistant"] if add_generation_prompt else "")


def special_id(tokenizer, token: str) -> int:
    """The id of a special token of the chat template; ValueError when the tokenizer lacks it."""
    ids = getattr(tokenizer, "special_ids", {})
    if token not in ids:
        raise ValueError(
            f"the tokenizer has no special token {token!r}; the chat template needs "
            f"{list(ROLE_TOKENS.values()) + [END]} (course_lib.tokenizer.SPECIAL_TOKENS)")
    return ids[token]


def render(history_or_message, tokenizer, add_generation_prompt: bool = False,
           system: str | None = SYSTEM_PROMPT) -> tuple:
    """Token ids of the script and its loss mask: (ids, mask), two lists of equal length.

    mask[i] is 1 where token i is written by the assistant (its words and the <|end|>
    closing its turn) and 0 elsewhere (system line, user turns, role tokens). The words
    of each turn are encoded with allow_special=False, so text that looks like a special
    token stays plain text.
    """
    turns = as_conversation(history_or_message, system)
    end_id = special_id(tokenizer, END)
    ids, mask = [], []
    for turn in turns:
        body = tokenizer.encode(turn["content"], allow_special=False)
        learn = 1 if turn["role"] == "assistant" else 0
        ids += [special_id(tokenizer, ROLE_TOKENS[turn["role"]])] + body + [end_id]
        mask += [0] + [learn] * len(body) + [learn]
    if add_generation_prompt:
        ids.append(special_id(tokenizer, ROLE_TOKENS["assistant"]))
        mask.append(0)
    return ids, mask


def training_example(history_or_message, tokenizer, block_size: int | None = None,
                     system: str | None = SYSTEM_PROMPT) -> tuple:
    """(x, y) for fine-tuning: x = the script but its last token, y = the next tokens,
    with -100 wherever the next token is not the assistant's. Both 1-D long tensors.

    A script longer than block_size + 1 tokens keeps its beginning.
    """
    ids, mask = render(history_or_message, tokenizer, system=system)
    if block_size is not None:
        ids, mask = ids[: block_size + 1], mask[: block_size + 1]
    x = torch.tensor(ids[:-1], dtype=torch.long)
    y = torch.tensor([t if m else IGNORE for t, m in zip(ids[1:], mask[1:])], dtype=torch.long)
    return x, y


def collate(examples: list, pad_id: int = 0) -> tuple:
    """Stack (x, y) pairs of different lengths into (B, T) tensors, padding at the end.

    Padding sits after the real tokens, so causal attention never lets a real token see
    it; its targets are -100, so it costs nothing in the loss.
    """
    T = max(x.numel() for x, _ in examples)
    X = torch.full((len(examples), T), pad_id, dtype=torch.long)
    Y = torch.full((len(examples), T), IGNORE, dtype=torch.long)
    for i, (x, y) in enumerate(examples):
        X[i, : x.numel()] = x
        Y[i, : y.numel()] = y
    return X, Y


# =======================================================================================
# The dialogue set
# =======================================================================================

def dialogues_dir() -> Path:
    return Path(paths.DATA_DIR) / "dialogues"


def load_jsonl(path) -> list:
    """Records of a JSON-lines file; FileNotFoundError with the command that makes it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no file {path}; make the dialogue set with: python scripts/make_dialogues.py")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_dialogues(split: str = "train") -> list:
    """The course's dialogue set: "train" (conversations: {"messages": [...], ...}) or
    "heldout" (questions: {"prompt", "answer", "reference", "task", "scored"})."""
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', not {split!r}")
    return load_jsonl(dialogues_dir() / f"{split}.jsonl")


# =======================================================================================
# Talking: one answer, or many at once
# =======================================================================================

def stop_ids(tokenizer) -> set:
    ids = getattr(tokenizer, "special_ids", {})
    return {ids[s] for s in (END, "<|endoftext|>") if s in ids}


def pad_id(tokenizer) -> int:
    """The id that pads a batch: <|endoftext|> (0 for a tokenizer without it)."""
    return getattr(tokenizer, "special_ids", {}).get("<|endoftext|>", 0)


MIN_PROMPT_TOKENS = 4  # the least a prompt can be: <|user|>, one token of the message, <|end|>, <|assistant|>


def check_answer_room(block_size: int, max_new_tokens) -> int:
    """ValueError unless max_new_tokens is a whole number from 0 to block_size - 4."""
    if check_max_new_tokens(max_new_tokens) > block_size - MIN_PROMPT_TOKENS:
        raise ValueError(f"max_new_tokens={max_new_tokens} leaves no room for the conversation in the model's "
                         f"context of {block_size} tokens; allowed: 0 to {block_size - MIN_PROMPT_TOKENS}")
    return max_new_tokens


def _fit_context(turns: list, tokenizer, block_size: int, room: int) -> tuple:
    """The script up to "<|assistant|>", leaving `room` tokens for the answer: (ids, fit).

    Until it fits, in order: the oldest user/assistant turns go (the last user turn
    stays), then the system line, then the start of the last message (its <|user|> and
    its end, usually the question, stay). fit: {"dropped_turns", "dropped_system",
    "cropped_tokens", "kept_turns"}.
    """
    pieces = [render([t], tokenizer, system=None)[0] for t in turns]  # each turn's ids
    budget, start = block_size - room, int(bool(turns) and turns[0]["role"] == "system")
    total, dropped, dropped_system = sum(len(p) for p in pieces) + 1, 0, False  # + 1: the cue
    while total > budget and len(pieces) - start > 1:
        total -= len(pieces.pop(start))
        dropped += 1
    if total > budget and start:
        total -= len(pieces.pop(0))
        dropped_system = True
    cropped = max(0, total - budget)
    pieces[-1] = pieces[-1][:1] + pieces[-1][1 + cropped:]
    ids = [i for p in pieces for i in p] + [special_id(tokenizer, ROLE_TOKENS["assistant"])]
    return ids, {"dropped_turns": dropped, "dropped_system": dropped_system, "cropped_tokens": cropped,
                 "kept_turns": len(pieces)}


def fit_prompt(history_or_message, tokenizer, block_size: int, max_new_tokens: int,
               system: str | None = SYSTEM_PROMPT) -> tuple:
    """Ids of the script up to "<|assistant|>", cut so that they and max_new_tokens (0 to
    block_size - 4) answer tokens fit the context, and what was cut: (ids, fit) as in
    `_fit_context`. `prompt_ids` gives the ids alone."""
    check_answer_room(block_size, max_new_tokens)
    turns = as_conversation(history_or_message, system)
    if turns[-1]["role"] != "user":
        raise ValueError("the conversation must end with a user turn for the assistant to answer")
    return _fit_context(turns, tokenizer, block_size, max_new_tokens)


def prompt_ids(history_or_message, tokenizer, block_size: int, max_new_tokens: int,
               system: str | None = SYSTEM_PROMPT) -> list:
    """The ids of `fit_prompt`: the script, cut to leave max_new_tokens for the answer."""
    return fit_prompt(history_or_message, tokenizer, block_size, max_new_tokens, system)[0]


def decode_answer(tokenizer, ids: list) -> str:
    """Text of an answer's ids, without the closing stop token."""
    stops = stop_ids(tokenizer)
    if ids and ids[-1] in stops:
        ids = ids[:-1]
    return tokenizer.decode(ids).strip()


def answer_many(model: GPT, tokenizer, prompts: list, temperature: float = 1.0, top_k=None, top_p=None,
                seed=None, max_new_tokens: int = 24, system: str | None = SYSTEM_PROMPT) -> list:
    """One sampled answer (text) for each prompt (a message or a conversation); each gets its
    max_new_tokens of room (see `prompt_ids`). Bad settings: ValueError, as in `generate`."""
    if isinstance(prompts, (str, dict)) or not hasattr(prompts, "__iter__"):
        raise ValueError("prompts must be a list of messages or conversations (for one, use chat)")
    check_sampling_args(temperature, top_k, top_p)
    check_seed(seed)
    block = model.config.block_size
    ids = [prompt_ids(p, tokenizer, block, max_new_tokens, system) for p in prompts]
    new = sample_batch(model, ids, max_new_tokens, temperature, top_k, top_p, seed, stop_ids(tokenizer))
    return [decode_answer(tokenizer, n) for n in new]


def chat(model: GPT, tokenizer, history_or_message, temperature: float = 0.7, top_k=None, top_p=None,
         seed=None, max_new_tokens: int = MAX_ANSWER_TOKENS, system: str | None = SYSTEM_PROMPT) -> str:
    """The assistant's answer to a message (str) or to a conversation ending with a user turn.

    The script is rendered with the chat template, ended with "<|assistant|>", and the
    model continues it until it writes <|end|> (or max_new_tokens). Same seed, same answer.
    """
    return answer_many(model, tokenizer, [history_or_message], temperature, top_k, top_p, seed,
                       max_new_tokens, system)[0]


def file_sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


SFT_FLAGS = ("steps", "batch_size", "lr", "dropout", "seed")  # the settings `python -m course_lib.chat sft` takes


def build_parser() -> argparse.ArgumentParser:
    from .sft import SFTConfig

    parser = argparse.ArgumentParser(prog="python -m course_lib.chat", description="Chat fine-tuning and talking.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sft", help="supervised fine-tuning of a pre-trained model on the dialogue set")
    p.add_argument("--base", required=True, help="checkpoint folder of the pre-trained model")
    p.add_argument("--out", required=True, help="where to write the fine-tuned checkpoint")
    add_flags(p, SFTConfig, only=SFT_FLAGS)
    p.add_argument("--device", default="auto")
    p.add_argument("--fp32", action="store_true", help="save float32 weights (default float16)")
    s = sub.add_parser("say", help="print the model's answer to a message")
    s.add_argument("--model", required=True)
    s.add_argument("message")
    s.add_argument("--temperature", type=float, default=0.7)
    s.add_argument("--seed", type=int, default=None)
    return parser


def _run(args, argv) -> int:
    """One command of the parsed command line, in bf16 on a GPU; returns the exit status."""
    from .device import autocast, pick_device

    with autocast(pick_device(args.device) if hasattr(args, "device") else "cpu"):
        return _run_command(args, argv)


def _run_command(args, argv) -> int:
    from .checkpoint import check_output_folder, load_checkpoint, save_checkpoint
    from .device import pick_device
    from .sft import SFTConfig, answer_loss, sft

    if args.command == "say":
        model, tokenizer, _ = load_checkpoint(args.model)
        print(chat(model, tokenizer, args.message, temperature=args.temperature, seed=args.seed))
        return 0
    config = SFTConfig(**from_flags(args, SFT_FLAGS))  # checked, and where it goes, before anything trains
    check_output_folder(args.out, flag="--out", replace_checkpoint=True)
    device = pick_device(args.device)
    torch.manual_seed(args.seed)
    model, tokenizer, base_meta = load_checkpoint(args.base, device=device)
    if tokenizer is None:
        raise ValueError(f"{args.base} has no tokenizer.json; SFT needs the model's tokenizer")
    dialogues = load_dialogues("train")
    t0 = time.perf_counter()
    log = sft(model, tokenizer, dialogues, config)
    seconds = time.perf_counter() - t0
    heldout = [[{"role": "user", "content": r["prompt"]}, {"role": "assistant", "content": r["reference"]}]
               for r in load_dialogues("heldout")]
    meta = {
        "kind": "chat-sft", "base": str(args.base), "base_meta": base_meta,
        "steps": len(log), "batch_size": args.batch_size, "lr": args.lr, "dropout": args.dropout,
        "seed": args.seed,
        "dialogues_sha256": file_sha256(dialogues_dir() / "train.jsonl"),
        "final_loss": round(sum(e["loss"] for e in log[-10:]) / min(10, len(log)), 4),
        "heldout_reference_loss": round(answer_loss(model, tokenizer, heldout), 4),
        "seconds": round(seconds, 1), "cpu_seconds": log[-1]["cpu_seconds"], "device": str(device),
        "command": "python -m course_lib.chat " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    save_checkpoint(args.out, model.cpu(), tokenizer, meta=meta,
                    dtype=None if args.fp32 else torch.float16)
    print(json.dumps({k: v for k, v in meta.items() if k != "base_meta"}, indent=2))
    for message in ("Hello!", "What is 3 plus 4?", "Who wrote Hamlet?"):
        print(f"{message!r} -> {chat(model, tokenizer, message, seed=0)!r}")
    return 0


def main(argv=None) -> int:
    return run_command(build_parser(), _run, argv)


_SFT_NAMES = ("SFTConfig", "sft", "answer_loss", "length_grouped_batches")


def __getattr__(name):  # supervised fine-tuning lives in course_lib.sft; chat.sft(...) still works
    if name in _SFT_NAMES:
        from . import sft as _sft

        return getattr(_sft, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())
