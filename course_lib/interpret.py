"""Looking inside a trained GPT: per-layer predictions, switching parts off, neurons, head patterns.

Everything here reads the model through its inspection path, `GPT.trace`, and measures
on a fixed sample of text, so two runs give the same numbers:

    >>> windows = val_windows(tokenizer, n=16, length=128)       # (16, 128) ids, never trained on
    >>> lens_losses(model, windows)                             # the loss after each block
    >>> ablation_effect(model, tokenizer, "ROMEO.\\n", ablate_heads=[(3, 1)])
    >>> head_scan(model, windows)                               # (L, H) rise of the loss
    >>> top_activations(model, windows, layer=4, neuron=17)      # where a neuron fires most
    >>> head_pattern_scores(model, windows, newline_id)          # previous-token, first-token, ...

Names follow the maths (TransformerLens does the same): `resid_post` is the residual
stream after a block, `mlp_hidden` the feed-forward neurons after GELU.
"""
import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .data import encode_corpus, split

ABLATIONS = ("ablate_heads", "ablate_neurons", "ablate_attn", "ablate_mlp")


# -- the sample of text everything is measured on ------------------------------------------------

def val_windows(tokenizer, n: int = 16, length: int = 128, ids=None) -> torch.Tensor:
    """(n, length) token ids: windows spread evenly over the validation split of the corpus.

    The same windows every time (no randomness). `ids` (1-D) replaces the encoded corpus.
    """
    if not isinstance(n, int) or not isinstance(length, int) or n < 1 or length < 2:
        raise ValueError(f"n must be >= 1 and length >= 2 (whole numbers), got n={n!r}, length={length!r}")
    if ids is None:
        _, ids = split(encode_corpus(tokenizer, quiet=True))
    ids = torch.as_tensor(ids, dtype=torch.long)
    room = ids.numel() - length
    if room < 0:
        raise ValueError(f"the text has {ids.numel()} tokens, fewer than one window of {length}")
    starts = torch.linspace(0, room, n).long()
    return torch.stack([ids[s:s + length] for s in starts])


def _batched_trace(model, windows, batch_size=8, **ablate):
    """Trace a (B, T) sample a few windows at a time; yields (windows, trace) pairs."""
    windows = torch.as_tensor(windows, dtype=torch.long)
    if windows.dim() != 2:
        raise ValueError(f"windows must have shape (B, T), got {tuple(windows.shape)}")
    for i in range(0, windows.size(0), batch_size):
        chunk = windows[i:i + batch_size]
        yield chunk, model.trace(chunk, **ablate)


def position_losses(model, windows, **ablate) -> torch.Tensor:
    """(B, T-1): the loss (nats) of predicting each next token of the windows, with any parts
    switched off (see ABLATIONS); entry [b, t] is the loss of predicting token t+1."""
    out = []
    for chunk, tr in _batched_trace(model, windows, **ablate):
        logits = tr.logits[:, :-1].float()
        out.append(F.cross_entropy(logits.reshape(-1, logits.size(-1)), chunk[:, 1:].reshape(-1),
                                   reduction="none").view(chunk.size(0), -1))
    return torch.cat(out)


def sample_loss(model, windows, **ablate) -> float:
    """Mean next-token loss (nats) over the windows, with any parts switched off (see ABLATIONS)."""
    return position_losses(model, windows, **ablate).double().mean().item()


# -- the logit lens ----------------------------------------------------------------------------

def lens_logits(model, idx) -> torch.Tensor:
    """(L, B, T, V): what the output layer would say after each block.

    The residual stream after block l goes through the final layer norm, which normalises
    every vector with its own mean and variance (the stream grows from layer to layer, so
    reusing the last layer's statistics would be wrong), then through the output layer.
    The last layer's row equals the model's real logits.
    """
    tr = model.trace(idx)
    with torch.no_grad():
        return model.lm_head(model.ln_f(tr.resid_post))


@dataclass
class Lens:
    """The logit lens of one text: the top token and its probability per layer and position."""

    tokens: list  # T token texts of the input
    top_ids: torch.Tensor  # (L, T) the most likely next token after each block
    top_probs: torch.Tensor  # (L, T) its probability
    top_tokens: list  # L lists of T token texts


def logit_lens(model, tokenizer, text: str = None, ids=None) -> Lens:
    """Run `text` (or token `ids`) and read the top next-token prediction after every block, at
    every position."""
    ids = tokenizer.encode(text) if ids is None else [int(i) for i in ids]
    if not ids:
        raise ValueError("The text is empty: type a few words to look inside.")
    if len(ids) > model.config.block_size:
        raise ValueError(f"The text has {len(ids)} tokens; the model reads at most {model.config.block_size}.")
    device = next(model.parameters()).device
    probs = lens_logits(model, torch.tensor([ids], device=device))[:, 0].float().softmax(-1)  # (L, T, V)
    top = probs.max(dim=-1)
    top_ids = top.indices.cpu()
    return Lens(tokens=[tokenizer.token_text(i) for i in ids], top_ids=top_ids, top_probs=top.values.cpu(),
                top_tokens=[[tokenizer.token_text(int(i)) for i in row] for row in top_ids])


def lens_losses(model, windows) -> list:
    """The validation loss (nats) of the logit lens after each block, on the windows: L numbers."""
    totals = torch.zeros(model.config.n_layer, dtype=torch.float64)
    count = 0
    for chunk, tr in _batched_trace(model, windows):
        targets = chunk[:, 1:].reshape(-1)
        with torch.no_grad():
            for layer in range(model.config.n_layer):
                logits = model.lm_head(model.ln_f(tr.resid_post[layer, :, :-1]))
                totals[layer] += F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets,
                                                 reduction="sum").item()
        count += targets.numel()
    return (totals / count).tolist()


# -- switching parts off -------------------------------------------------------------------------

def next_token_probs(model, tokenizer, text: str, **ablate) -> torch.Tensor:
    """(V,) next-token probabilities after `text`, with the chosen parts switched off."""
    unknown = set(ablate) - set(ABLATIONS)
    if unknown:
        raise ValueError(f"unknown ablation {sorted(unknown)}; allowed: {', '.join(ABLATIONS)}")
    ids = tokenizer.encode(text)[-model.config.block_size:]
    if not ids:
        raise ValueError("The text is empty: the model needs at least one token to predict the next.")
    device = next(model.parameters()).device
    return model.trace(torch.tensor([ids], device=device), **ablate).logits[0, -1].float().softmax(-1).cpu()


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> float:
    """KL(p || q) in nats: how much q, read as a guess of p, loses."""
    return float((p * (p.clamp_min(1e-12).log() - q.clamp_min(1e-12).log())).sum())


def ablation_effect(model, tokenizer, text: str, k: int = 5, **ablate) -> dict:
    """The next-token distribution after `text` before and after switching parts off.

    Returns {"kl": KL(before || after) in nats, "before": [(token, p)] top k, "after": [...],
    "p_before"/"p_after": the full (V,) distributions}.
    """
    before = next_token_probs(model, tokenizer, text)
    after = next_token_probs(model, tokenizer, text, **ablate)

    def top(p):
        best = p.topk(k)
        return [(tokenizer.token_text(int(i)), float(v)) for v, i in zip(best.values, best.indices)]

    return {"kl": kl_divergence(before, after), "before": top(before), "after": top(after),
            "p_before": before, "p_after": after}


def head_scan(model, windows) -> torch.Tensor:
    """(L, H): how much the sample loss rises (nats) when each head alone is switched off."""
    base = sample_loss(model, windows)
    L, H = model.config.n_layer, model.config.n_head
    rise = torch.zeros(L, H)
    for layer in range(L):
        for head in range(H):
            rise[layer, head] = sample_loss(model, windows, ablate_heads=[(layer, head)]) - base
    return rise


# -- neurons ----------------------------------------------------------------------------------

def neuron_activations(model, windows, layer: int) -> torch.Tensor:
    """(B, T, 4C): every feed-forward neuron of `layer` at every token of the windows."""
    if not isinstance(layer, int) or not 0 <= layer < model.config.n_layer:
        raise ValueError(f"layer must be 0..{model.config.n_layer - 1}, not {layer!r}")
    windows = torch.as_tensor(windows, dtype=torch.long)
    if windows.dim() != 2:
        raise ValueError(f"windows must have shape (B, T), got {tuple(windows.shape)}")
    # upto_layer: the layers above `layer` do not change its neurons, so they are not run
    return torch.cat([model.trace(chunk, upto_layer=layer).mlp_hidden[layer] for chunk in windows.split(8)])


def top_activations(model, windows, layer: int, neuron: int, k: int = 10, acts=None) -> list:
    """The k tokens of the sample where a neuron fires most: [(activation, window, position)],
    strongest first. `acts` (B, T, 4C) from `neuron_activations` saves running the model again."""
    n_neurons = 4 * model.config.n_embd
    if not isinstance(neuron, int) or not 0 <= neuron < n_neurons:
        raise ValueError(f"neuron must be 0..{n_neurons - 1}, not {neuron!r}")
    if acts is None:
        acts = neuron_activations(model, windows, layer)
    values = acts[..., neuron]  # (B, T)
    best = values.reshape(-1).topk(min(k, values.numel()))
    T = values.size(1)
    return [(float(v), int(i) // T, int(i) % T) for v, i in zip(best.values, best.indices)]


def snippet(tokenizer, windows, window: int, position: int, before: int = 12, after: int = 4):
    """(text before, the token, text after) around one token of the sample."""
    row = torch.as_tensor(windows)[window].tolist()
    return (tokenizer.decode(row[max(0, position - before):position]), tokenizer.decode([row[position]]),
            tokenizer.decode(row[position + 1:position + 1 + after]))


SPEAKER_LINE = re.compile(r"(^|\n)(?!ACT |SCENE )[A-Z][A-Z' ]*[A-Z]\.$")  # "ROMEO." or "SIR TOBY.", not "ACT II."


def speech_starts(tokenizer, windows) -> torch.Tensor:
    """(B, T) booleans: True at the new line right after a speaker's name (a speech starts)."""
    windows = torch.as_tensor(windows)
    marks = torch.zeros(windows.shape, dtype=torch.bool)
    for b, row in enumerate(windows.tolist()):
        so_far = ""
        for t, token in enumerate(row):
            piece = tokenizer.decode([token])
            marks[b, t] = piece == "\n" and bool(SPEAKER_LINE.search(so_far[-40:]))
            so_far += piece
    return marks


def marked_shares(model, windows, marks, k: int = 30) -> torch.Tensor:
    """(L, 4C): for every neuron, the share of its k strongest activations that fall on marked
    tokens (marks (B, T) booleans, e.g. `speech_starts`); lesson 06's neuron search."""
    marks = torch.as_tensor(marks).reshape(-1)
    shares = []
    for layer in range(model.config.n_layer):
        flat = neuron_activations(model, windows, layer).reshape(-1, 4 * model.config.n_embd)
        shares.append(marks[flat.topk(min(k, flat.size(0)), dim=0).indices].float().mean(dim=0))
    return torch.stack(shares)


def best_neuron_for(model, windows, marks, k: int = 30):
    """(layer, neuron, share): the neuron whose k strongest activations are most often marked."""
    shares = marked_shares(model, windows, marks, k)
    layer, neuron = divmod(int(shares.argmax()), shares.size(1))
    return layer, neuron, float(shares[layer, neuron])


# -- attention patterns -------------------------------------------------------------------------

def head_pattern_scores(model, windows, newline_id: int) -> dict:
    """Per head (L, H) scores in [0, 1], averaged over the query positions of the windows:

    - "previous token": the weight on the token just before the query,
    - "first token": the weight on position 0,
    - "start of line": the weight on the latest new-line token before the query (queries
      with no new line before them are left out).
    """
    sums = {name: 0.0 for name in ("previous token", "first token", "start of line")}
    counts = dict.fromkeys(sums, 0)
    for chunk, tr in _batched_trace(model, windows):
        pat = tr.attn_pattern  # (L, B, H, T, T)
        T = chunk.size(1)
        q = torch.arange(1, T)
        sums["previous token"] = sums["previous token"] + pat[..., q, q - 1].sum(dim=(1, 3))
        counts["previous token"] += chunk.size(0) * (T - 1)
        sums["first token"] = sums["first token"] + pat[..., q, 0].sum(dim=(1, 3))
        counts["first token"] += chunk.size(0) * (T - 1)
        # the latest new line strictly before each query
        is_nl = chunk == newline_id
        pos = torch.where(is_nl, torch.arange(T), torch.full_like(chunk, -1))
        latest = torch.cummax(pos, dim=1).values  # (B, T): latest new line at or before t
        latest = torch.cat([torch.full_like(latest[:, :1], -1), latest[:, :-1]], dim=1)  # strictly before
        valid = latest >= 0  # (B, T)
        gathered = pat.gather(-1, latest.clamp_min(0)[None, :, None, :, None].expand(*pat.shape[:-1], 1))[..., 0]
        sums["start of line"] = sums["start of line"] + (gathered * valid[None, :, None]).sum(dim=(1, 3))
        counts["start of line"] += int(valid.sum())
    return {name: sums[name] / max(counts[name], 1) for name in sums}
