"""From scores to choices: next-token probabilities, temperature, top-k, top-p, generation.

The model gives a score (logit) for every token of the vocabulary. Softmax turns scores
into probabilities; temperature sharpens (< 1) or flattens (> 1) them, 0 means "always
take the most likely token"; top-k keeps the k most likely tokens, top-p the smallest set
whose probabilities add up to p. Then a token is drawn at random with those chances.

This is the course's one generation engine:
- prompts: `prompt_ids` (text -> ids), `context_ids` (keep the last block_size), `encode_prompt`;
- one step: `next_token_logits`, `next_token_distribution`, `draw`;
- many steps: `generate` (text -> text), `generate_ids` (one prompt, any length: the window
  slides when the text outgrows the context), `sample_batch` (many prompts at once).

Seeds, everywhere: `seed=None` draws fresh randomness; a whole number from 0 to 2**64 - 1
gives the same text every time, on every device, because the dice (`make_generator`) are
rolled on the CPU. Other seeds (negative, 2**64 or more, 1.5, "7", True) are a ValueError,
never folded silently; widgets that count seeds up (seed + n) wrap around 2**64 with
`offset_seed`. max_new_tokens is a whole number >= 0 everywhere.

Any temperature > 0 works, however small: one so small that scores / temperature would
overflow (1e-40, 5e-324) gives the limit, all probability on the most likely token (the
same as 0, greedy); a huge one (1e30, inf) gives near-uniform probabilities.
"""
import contextlib
import operator

import torch

from .model import GPT


SEED_LIMIT = 2**64  # seeds are whole numbers 0 .. 2**64 - 1 (what torch's generator holds)


def _is_whole(value) -> bool:
    """An int (numpy's and torch's integers too), not a bool."""
    if isinstance(value, bool):
        return False
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_sampling_args(temperature=1.0, top_k=None, top_p=None):
    """Raise ValueError with what is allowed, for settings that make no sense."""
    if not _is_number(temperature) or temperature != temperature or temperature < 0:
        raise ValueError(f"temperature must be a number >= 0 (0 = always the most likely token), not {temperature!r}")
    if top_k is not None and (not _is_whole(top_k) or top_k < 1):
        raise ValueError(f"top_k must be a whole number >= 1 or None (no limit), not {top_k!r}")
    if top_p is not None and (not _is_number(top_p) or not 0.0 < top_p <= 1.0):
        raise ValueError(f"top_p must be in (0, 1] or None (no limit), not {top_p!r}")


def check_max_new_tokens(max_new_tokens, name="max_new_tokens"):
    """Raise ValueError unless max_new_tokens is a whole number >= 0; returns it."""
    if not _is_whole(max_new_tokens) or operator.index(max_new_tokens) < 0:
        raise ValueError(f"{name} must be a whole number >= 0 (how many tokens to add), not {max_new_tokens!r}")
    return operator.index(max_new_tokens)


def check_seed(seed, name="seed"):
    """Raise ValueError unless seed is None (fresh dice) or a whole number 0 .. 2**64 - 1; returns it.

    Larger or negative numbers are refused rather than silently folded: two different
    seeds must never give the same dice. Code that derives seeds (seed + n) uses
    `offset_seed`, which wraps around 2**64 explicitly.
    """
    if seed is None:
        return None
    if not _is_whole(seed) or not 0 <= operator.index(seed) < SEED_LIMIT:
        raise ValueError(f"{name} must be a whole number from 0 to 2**64 - 1, or None (fresh dice), not {seed!r}")
    return operator.index(seed)


def offset_seed(seed, n: int):
    """The n-th seed after `seed` (seed + n, wrapping around 2**64); None stays None (fresh dice)."""
    return None if seed is None else (check_seed(seed) + n) % SEED_LIMIT


def _divide(logits: torch.Tensor, temperature) -> torch.Tensor:
    """logits / temperature, without overflow.

    A tiny temperature (say 1e-40) makes logits / temperature overflow float32 to inf,
    and softmax of inf is NaN. For a row where that happens, divide the gap to the row's
    best score instead, in float64: the best token gets 0, the others a very negative
    number or -inf, so softmax gives the limit (all probability on the best token, shared
    by exact ties). Rows that do not overflow are computed as always, bit for bit.
    """
    scaled = logits / temperature
    overflow = (~torch.isfinite(scaled) & torch.isfinite(logits)).any(-1, keepdim=True)
    if bool(overflow.any()):
        wide = logits.detach().cpu().double()
        gap = (wide - wide.max(-1, keepdim=True).values) / temperature  # <= 0, best token exactly 0
        scaled = torch.where(overflow, gap.to(device=logits.device, dtype=logits.dtype), scaled)
    return scaled


def probs_from_logits(logits: torch.Tensor, temperature=1.0, top_k=None, top_p=None) -> torch.Tensor:
    """logits (..., V) -> probabilities (..., V) after temperature, top-k and top-p."""
    check_sampling_args(temperature, top_k, top_p)
    logits = logits.float()
    if temperature == 0:  # greedy: all probability on the arg-max
        return torch.nn.functional.one_hot(logits.argmax(-1), logits.size(-1)).to(logits.dtype)
    logits = _divide(logits, temperature)
    if top_k is not None and top_k < logits.size(-1):
        kth_best = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth_best, float("-inf"))
    probs = logits.softmax(-1)
    if top_p is not None and top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        mass_before = sorted_probs.cumsum(-1) - sorted_probs  # probability of the better tokens
        drop_sorted = mass_before >= top_p  # the best token always stays (its mass_before is 0)
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        probs = probs.masked_fill(drop, 0.0)
        probs = probs / probs.sum(-1, keepdim=True)
    return probs


# ---------------------------------------------------------------------------------------
# The dice
# ---------------------------------------------------------------------------------------

def make_generator(seed=None) -> torch.Generator:
    """A CPU random generator: seeded with `seed` (a whole number 0 .. 2**64 - 1), or from fresh
    randomness (None). Anything else is a ValueError (see `check_seed`)."""
    g = torch.Generator()
    seed = check_seed(seed)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(seed)
    return g


def sample_from(probs: torch.Tensor, generator: torch.Generator) -> int:
    """Draw one token id from a (V,) probability vector (on the CPU, so seeds mean the same everywhere)."""
    return int(torch.multinomial(probs.float().cpu(), 1, generator=generator))


def draw(logits: torch.Tensor, temperature, top_k, top_p, generator: torch.Generator) -> torch.Tensor:
    """One token per row: logits (B, V) on any device -> ids (B,) on the CPU."""
    probs = probs_from_logits(logits.float().cpu(), temperature, top_k, top_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


@contextlib.contextmanager
def eval_mode(model: GPT):
    """Run the model without dropout inside the block; its training mode comes back after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


# ---------------------------------------------------------------------------------------
# Prompts and one step
# ---------------------------------------------------------------------------------------

def prompt_ids(tokenizer, prompt: str, allow_empty=False) -> list:
    """All the token ids of a prompt. An empty prompt is an error, or with allow_empty the
    <|endoftext|> token (the model then writes whatever it likes)."""
    if not isinstance(prompt, str):
        raise ValueError(f"the prompt must be text (str), not {type(prompt).__name__}")
    ids = tokenizer.encode(prompt) if prompt else []
    if not ids:
        if not allow_empty:
            raise ValueError("The prompt is empty: type at least one character for the model to continue.")
        ids = [tokenizer.special_ids.get("<|endoftext|>", 0)]
    return ids


def context_ids(model: GPT, ids: list) -> torch.Tensor:
    """ids -> (1, T) on the model's device, T <= block_size: a longer text keeps its end,
    the part the model can read."""
    ids = ids[-model.config.block_size :]
    return torch.tensor([ids], dtype=torch.long, device=next(model.parameters()).device)


def encode_prompt(model: GPT, tokenizer, prompt: str, allow_empty=False) -> torch.Tensor:
    """Text -> (1, T) ids on the model's device; texts longer than the context keep their end."""
    return context_ids(model, prompt_ids(tokenizer, prompt, allow_empty))


@torch.no_grad()
def next_token_logits(model: GPT, idx: torch.Tensor) -> torch.Tensor:
    """Scores for the token after idx (1, T): (V,) float32 on the CPU, the model in eval mode."""
    with eval_mode(model):
        logits, _ = model(idx)
    return logits[0, -1].float().cpu()


def next_token_distribution(model: GPT, tokenizer, prompt: str, temperature=1.0, top_k=None, top_p=None):
    """The probability of every token in the vocabulary coming next after `prompt`: (V,)."""
    check_sampling_args(temperature, top_k, top_p)
    logits = next_token_logits(model, encode_prompt(model, tokenizer, prompt))
    return probs_from_logits(logits, temperature, top_k, top_p)


# ---------------------------------------------------------------------------------------
# Many steps
# ---------------------------------------------------------------------------------------

@torch.no_grad()
def _continue(model: GPT, idx, max_new_tokens, temperature, top_k, top_p, generator, stop_ids, use_cache):
    """The loop: idx (B, T <= block_size) -> new ids (B, n) on the CPU, n <= max_new_tokens;
    it ends early once every row has drawn a stop id.

    With use_cache the keys and values of earlier tokens are kept (a KV cache), so each new
    token costs one position of work instead of the whole text. When the text outgrows the
    context, the cache is dropped and the last block_size tokens are read afresh.
    """
    block = model.config.block_size
    stop = torch.tensor(sorted(set(stop_ids)), dtype=torch.long)
    out = idx
    new = torch.empty((idx.size(0), 0), dtype=torch.long)
    done = torch.zeros(idx.size(0), dtype=torch.bool)
    caches, fed = None, 0  # fed: how many tokens of `out` the cache has seen
    for _ in range(max_new_tokens):
        if use_cache and out.size(1) <= block:
            if caches is None:
                caches, fed = model.new_kv_caches(), 0
            logits, _ = model(out[:, fed:], kv_caches=caches)
            fed = out.size(1)
        else:
            caches = None
            logits, _ = model(out[:, -block:])
        nxt = draw(logits[:, -1], temperature, top_k, top_p, generator)  # (B,)
        new = torch.cat([new, nxt[:, None]], dim=1)
        out = torch.cat([out, nxt[:, None].to(out.device)], dim=1)
        done |= torch.isin(nxt, stop)
        if bool(done.all()):
            break
        if out.size(1) > block:
            caches = None
    return new


def generate_ids(
    model: GPT,
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature=1.0,
    top_k=None,
    top_p=None,
    seed=None,
    stop_ids=(),
    use_cache=True,
) -> torch.Tensor:
    """Continue idx (1, T) by up to max_new_tokens tokens -> (1, T' + n), where T' = min(T,
    block_size): a prompt longer than the context keeps its end. Ends after a stop id (kept)."""
    check_sampling_args(temperature, top_k, top_p)
    check_max_new_tokens(max_new_tokens)
    check_seed(seed)
    out = idx[..., -model.config.block_size :]
    if hasattr(model, "check_idx"):  # the course's GPT; a toy model (lesson 02's bigram) needs only forward
        model.check_idx(out)
    elif out.dim() != 2 or out.size(1) == 0:
        raise ValueError(f"idx must be a non-empty (B, T) tensor of token ids, got shape {tuple(out.shape)}")
    with eval_mode(model):
        new = _continue(model, out, max_new_tokens, temperature, top_k, top_p, make_generator(seed), stop_ids,
                        use_cache)
    return torch.cat([out, new.to(out.device)], dim=1)


def sample_batch(model: GPT, prompts: list, max_new_tokens: int = 24, temperature: float = 1.0,
                 top_k=None, top_p=None, seed=None, stop=(), batch_size: int = 64) -> list:
    """Continue many prompts (lists of ids); returns the new ids of each, in order.

    Prompts of the same length go through the model together (a batch needs no padding
    then), with a KV cache. Each continuation ends at its first stop id (kept) or after
    max_new_tokens. One generator rolls all the dice, so a seed gives the same answers.
    """
    check_sampling_args(temperature, top_k, top_p)
    check_max_new_tokens(max_new_tokens)
    if not _is_whole(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, not {batch_size!r}")
    if isinstance(prompts, str) or not hasattr(prompts, "__len__"):
        raise ValueError("prompts must be a list of prompts, each a list of token ids")
    device = next(model.parameters()).device
    generator = make_generator(seed)
    stop = set(stop)
    by_length = {}
    for i, p in enumerate(prompts):
        if not p:
            raise ValueError(f"prompt {i} is empty")
        if len(p) + max_new_tokens > model.config.block_size:
            raise ValueError(f"prompt {i} has {len(p)} tokens; with {max_new_tokens} new ones it "
                             f"exceeds the context of {model.config.block_size}")
        by_length.setdefault(len(p), []).append(i)
    out = [None] * len(prompts)
    with eval_mode(model):
        for length in sorted(by_length):
            group = by_length[length]
            for start in range(0, len(group), batch_size):
                chunk = group[start : start + batch_size]
                idx = torch.tensor([prompts[i] for i in chunk], dtype=torch.long, device=device)
                new = _continue(model, idx, max_new_tokens, temperature, top_k, top_p, generator, stop, True)
                for row, i in enumerate(chunk):
                    ids = new[row].tolist()
                    ends = [j for j, t in enumerate(ids) if t in stop]
                    out[i] = ids[: ends[0] + 1] if ends else ids
    return out


def generate(
    model: GPT,
    tokenizer,
    prompt: str,
    max_new_tokens=100,
    temperature=1.0,
    top_k=None,
    top_p=None,
    seed=None,
    stop=("<|end|>", "<|endoftext|>"),
    use_cache=True,
    allow_empty=True,
) -> str:
    """Continue `prompt` and return only the new text (without a final stop token).

    stop: special-token strings (or token ids) that end the answer. An empty prompt starts
    from the <|endoftext|> token: the model writes whatever it likes.
    """
    idx = encode_prompt(model, tokenizer, prompt, allow_empty=allow_empty)
    stop_ids = set()
    for s in stop or ():
        if isinstance(s, int):
            stop_ids.add(s)
        elif s in getattr(tokenizer, "special_ids", {}):
            stop_ids.add(tokenizer.special_ids[s])
    out = generate_ids(model, idx, max_new_tokens, temperature, top_k, top_p, seed, stop_ids, use_cache)
    new = out[0, idx.size(1) :].tolist()
    if new and new[-1] in stop_ids:
        new = new[:-1]
    return tokenizer.decode(new)
