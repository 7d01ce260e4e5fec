"""Lesson 07 · The whole GPT: checkers.

    from course_lib.exercises import lesson07
    lesson07.check_block_params(block_params)
    lesson07.check_gpt_params(gpt_params)

Both count the weights ("dials") of course_lib.model's GPT from its settings alone; the
checkers count the real thing: they build the model on PyTorch's "meta" device (shapes
only, no memory), so even GPT-3's size is checked exactly.
"""
import torch

from ..model import GPT, Block, GPTConfig
from .core import ExerciseFailed, run_check
from .reference import reference


# -- counting the real thing -----------------------------------------------------------------------

def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _real_block(n_embd: int) -> int:
    with torch.device("meta"):  # shapes only: nothing is allocated
        return _count(Block(GPTConfig(n_embd=n_embd, n_head=1)))


def _real_gpt(n_layer, n_embd, vocab_size, block_size) -> int:
    # A one-block GPT plus (n_layer - 1) more blocks: the same count as the full model, built
    # quickly (initialising 96 meta blocks one by one takes seconds).
    with torch.device("meta"):
        one_block = GPT(GPTConfig(n_layer=1, n_embd=n_embd, n_head=1, vocab_size=vocab_size, block_size=block_size))
    return _count(one_block) + (n_layer - 1) * _real_block(n_embd)


def _as_count(name: str, value) -> int:
    """Accept ints (and whole floats, e.g. from `**`); explain anything else."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExerciseFailed(f"{name} should return a number, but it returned a {type(value).__name__}.")
    if value != int(value):
        raise ExerciseFailed(f"{name} returned {value}, which is not a whole number: a count of weights is whole.")
    return int(value)


# -- checkers --------------------------------------------------------------------------------------

def _test_block_params(fn):
    for d in (64, 256, 768):
        got = _as_count("block_params", fn(d))
        expected = _real_block(d)
        if got == expected:
            continue
        if got == 12 * d * d:
            raise ExerciseFailed(
                f"for n_embd={d} you count the big matrices (12 d² = {got:,}) but the block has {expected:,} "
                "weights. Hint: every linear layer also has a bias (one per output), and each of the two "
                "layer norms has a gain and a shift per channel."
            )
        if got == 12 * d * d + 9 * d:
            raise ExerciseFailed(
                f"for n_embd={d} you have the matrices and the linear layers' biases, but the block has "
                f"{expected:,} weights. Hint: the two layer norms have weights too (a gain and a shift each)."
            )
        if got == 12 * d * d + 4 * d:
            raise ExerciseFailed(
                f"for n_embd={d} you have the matrices and the layer norms, but the block has {expected:,} "
                "weights. Hint: each linear layer also has a bias, one per output number."
            )
        if got in (4 * d * d + 4 * d, 8 * d * d + 5 * d):
            raise ExerciseFailed(
                f"for n_embd={d} you count only one of the two sub-layers. A block holds attention "
                "and a feed-forward network (and two layer norms)."
            )
        if got < expected and (expected - got) % d == 0 and (expected - got) // d < 20:
            raise ExerciseFailed(
                f"for n_embd={d} your count is {got:,}: {(expected - got) // d} × n_embd short of the block's "
                f"{expected:,}. Some biases or layer-norm weights are missing (each is one number per channel)."
            )
        raise ExerciseFailed(
            f"for n_embd={d} your count is {got:,}, but the block has {expected:,} weights. Hint: attention "
            "has a d → 3d layer (queries, keys, values) and a d → d output layer; the feed-forward network "
            "has d → 4d and 4d → d. A layer from a to b has a × b weights plus b biases."
        )


def check_block_params(block_params) -> bool:
    """Checks block_params(n_embd) -> int against a real course_lib.model.Block."""
    return run_check("block_params", block_params, reference("lesson07", "block_params"), _test_block_params)


_GPT_CASES = [
    # (n_layer, n_embd, vocab_size, block_size): a tiny model, ours, GPT-2 small, GPT-3
    (2, 32, 100, 16),
    (6, 256, 2048, 256),
    (12, 768, 50257, 1024),
    (96, 12288, 50257, 2048),
]


def _test_gpt_params(fn):
    for n_layer, n_embd, vocab_size, block_size in _GPT_CASES:
        settings = f"n_layer={n_layer}, n_embd={n_embd}, vocab_size={vocab_size}, block_size={block_size}"
        got = _as_count("gpt_params", fn(n_layer, n_embd, vocab_size, block_size))
        expected = _real_gpt(n_layer, n_embd, vocab_size, block_size)
        if got == expected:
            continue
        diff = got - expected
        d = n_embd
        if diff == vocab_size * d:
            raise ExerciseFailed(
                f"with {settings} you count {got:,}, exactly one token table ({vocab_size} × {d}) too many. "
                "Hint: the output layer shares its weights with the token embedding (weight tying)."
            )
        if diff == -vocab_size * d:
            raise ExerciseFailed(f"with {settings} the token embedding table (one vector per token) is missing.")
        if diff == -block_size * d:
            raise ExerciseFailed(f"with {settings} the position embedding table (one vector per position) is missing.")
        if diff == -2 * d:
            raise ExerciseFailed(f"with {settings} you are 2 × n_embd short: the final layer norm is missing.")
        if diff % _real_block(d) == 0 and diff:
            raise ExerciseFailed(
                f"with {settings} your count is off by {diff // _real_block(d)} whole blocks: "
                "there are n_layer blocks."
            )
        raise ExerciseFailed(
            f"with {settings} your count is {got:,}, but the model has {expected:,} weights "
            f"(off by {diff:+,}). Hint: token table + position table + n_layer blocks + the final layer norm; "
            "check block_params first."
        )


def check_gpt_params(gpt_params) -> bool:
    """Checks gpt_params(n_layer, n_embd, vocab_size, block_size) -> int against real GPTs (even GPT-3's size)."""
    return run_check("gpt_params", gpt_params, reference("lesson07", "gpt_params"), _test_gpt_params)
