"""From scores to choices: next-token probabilities, temperature, top-k, top-p, generation.

The model gives a score (logit) for every token of the vocabulary. Softmax turns scores
into probabilities; temperature sharpens (< 1) or flattens (> 1) them, 0 means "always
take the most likely token"; top-k keeps the k most likely tokens, top-p the smallest set
whose probabilities add up to p. Then a token is drawn at random with those chances.
"""
import torch

from .model import GPT


def check_sampling_args(temperature=1.0, top_k=None, top_p=None):
    """Raise ValueError with what is allowed, for settings that make no sense."""
    if not isinstance(temperature, (int, float)) or temperature != temperature or temperature < 0:
        raise ValueError(f"temperature must be a number >= 0 (0 = always the most likely token), not {temperature!r}")
    if top_k is not None and (not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1):
        raise ValueError(f"top_k must be a whole number >= 1 or None (no limit), not {top_k!r}")
    if top_p is not None and (not isinstance(top_p, (int, float)) or not 0.0 < top_p <= 1.0):
        raise ValueError(f"top_p must be in (0, 1] or None (no limit), not {top_p!r}")


def probs_from_logits(logits: torch.Tensor, temperature=1.0, top_k=None, top_p=None) -> torch.Tensor:
    """logits (..., V) -> probabilities (..., V) after temperature, top-k and top-p."""
    check_sampling_args(temperature, top_k, top_p)
    logits = logits.float()
    if temperature == 0:  # greedy: all probability on the arg-max
        return torch.nn.functional.one_hot(logits.argmax(-1), logits.size(-1)).to(logits.dtype)
    logits = logits / temperature
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


def encode_prompt(model: GPT, tokenizer, prompt: str, allow_empty=False) -> torch.Tensor:
    """Text -> (1, T) ids on the model's device; texts longer than the context keep their end."""
    if not isinstance(prompt, str):
        raise ValueError(f"the prompt must be text (str), not {type(prompt).__name__}")
    ids = tokenizer.encode(prompt)
    if not ids:
        if not allow_empty:
            raise ValueError("the prompt is empty: type at least one character for the model to continue")
        ids = [tokenizer.special_ids.get("<|endoftext|>", 0)]
    ids = ids[-model.config.block_size :]
    device = next(model.parameters()).device
    return torch.tensor([ids], dtype=torch.long, device=device)


@torch.no_grad()
def next_token_distribution(model: GPT, tokenizer, prompt: str, temperature=1.0, top_k=None, top_p=None):
    """The probability of every token in the vocabulary coming next after `prompt`: (V,)."""
    check_sampling_args(temperature, top_k, top_p)
    idx = encode_prompt(model, tokenizer, prompt)
    logits, _ = model(idx)
    return probs_from_logits(logits[0, -1], temperature, top_k, top_p).cpu()


def make_generator(seed=None) -> torch.Generator:
    g = torch.Generator()
    if seed is None:
        g.seed()
    else:
        g.manual_seed(int(seed))
    return g


def sample_from(probs: torch.Tensor, generator: torch.Generator) -> int:
    """Draw one token id from a (V,) probability vector (on the CPU, so seeds mean the same everywhere)."""
    return int(torch.multinomial(probs.float().cpu(), 1, generator=generator))


@torch.no_grad()
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
    """Continue idx (1, T) by up to max_new_tokens tokens -> (1, T + n).

    With use_cache the keys and values of earlier tokens are kept (a KV cache), so each new
    token costs one position of work instead of the whole text. When the text outgrows the
    context, the cache is dropped and the last block_size tokens are read afresh.
    """
    check_sampling_args(temperature, top_k, top_p)
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, not {max_new_tokens}")
    was_training = model.training
    model.eval()
    generator = make_generator(seed)
    block = model.config.block_size
    stop_ids = set(stop_ids)
    out = idx[:, -block:]
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
        next_id = sample_from(probs_from_logits(logits[0, -1], temperature, top_k, top_p), generator)
        out = torch.cat([out, torch.tensor([[next_id]], device=out.device)], dim=1)
        if next_id in stop_ids:
            break
        if out.size(1) > block:
            caches = None
    model.train(was_training)
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
