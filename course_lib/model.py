"""A GPT, written to be read.

The same model as GPT-2, only smaller: token and position embeddings, a stack of blocks
(each: layer norm -> causal self-attention -> add; layer norm -> feed-forward -> add),
a final layer norm, and an output layer that shares its weights with the token
embedding. Shapes in comments: B batch, T positions, C width (n_embd), H heads,
D = C // H head width, V vocabulary, L layers.

Two ways through the same weights:
- `forward`: the fast path for training and generation (fused attention kernel).
- `trace`: the inspection path for the lessons; it also returns the attention patterns,
  the residual stream and the feed-forward "neurons", and can switch off chosen heads
  or neurons. Both give the same logits (a test checks it).
"""
import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from .fused_loss import linear_cross_entropy


MAX_PARAMS = 20_000_000_000  # far above any model of the course (GPT-2 small: 124M); guards against typos


@dataclass
class GPTConfig:
    vocab_size: int = 2048  # how many different tokens the model knows
    block_size: int = 256  # the longest text (in tokens) it reads at once: its context
    n_layer: int = 6  # how many transformer blocks are stacked
    n_head: int = 8  # attention heads per block
    n_embd: int = 256  # width of every token's vector (the residual stream)
    dropout: float = 0.0  # dropout during training (0 = off)
    bias: bool = True  # biases in linear layers and layer norms, as in GPT-2

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"GPTConfig.{name} must be a positive integer, not {value!r}")
        if not isinstance(self.dropout, (int, float)) or isinstance(self.dropout, bool):
            raise ValueError(f"dropout must be a number in [0, 1), not {self.dropout!r}")
        if not isinstance(self.bias, bool):
            raise ValueError(f"GPTConfig.bias must be True or False, not {self.bias!r}")
        params = self.approx_params()
        if params > MAX_PARAMS:  # refused before anything is allocated
            raise ValueError(
                f"this GPTConfig would have about {params:,} weights ({params * 4 / 1e9:,.0f} GB in float32); "
                f"the course builds at most MAX_PARAMS = {MAX_PARAMS:,}. Check vocab_size, block_size, n_layer "
                "and n_embd")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}): "
                "each head gets an equal slice of the vector"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout}")

    def approx_params(self) -> int:
        """Weights of the model this config builds (embeddings, blocks, final norm), from the shape alone."""
        C = self.n_embd
        return (self.vocab_size + self.block_size) * C + self.n_layer * (12 * C * C + 13 * C) + 2 * C

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GPTConfig":
        if not isinstance(d, dict):
            raise ValueError(f"GPTConfig.from_dict takes a dict of its fields, not {type(d).__name__}")
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown GPTConfig fields {sorted(unknown)}; allowed: {sorted(known)}")
        return cls(**d)


class CausalSelfAttention(nn.Module):
    """Every position asks a question (query), offers a label (key) and a message (value).

    A position reads the messages of earlier positions, weighted by how well its query
    matches their keys. H heads do this side by side on slices of the vector.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # queries, keys, values at once
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)  # mix the heads back together
        self.resid_dropout = nn.Dropout(config.dropout)

    def split_heads(self, x):
        """(B, T, C) -> q, k, v each (B, H, T, D)."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(self.n_embd, dim=2)
        return [t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v)]

    def merge_heads(self, y):
        """(B, H, T, D) -> (B, T, C), then the output projection."""
        B, H, T, D = y.shape
        return self.resid_dropout(self.proj(y.transpose(1, 2).reshape(B, T, H * D)))

    def forward(self, x, kv_cache=None):
        q, k, v = self.split_heads(x)
        if kv_cache is not None:  # generation: keys and values of earlier tokens are remembered
            k, v = kv_cache.append(k, v)
        # Causal: a position may look at itself and the past, never the future. With a cache,
        # the T new queries sit at the end of the k.size(2) known positions.
        T_new, T_all = q.size(2), k.size(2)
        if T_new == T_all:
            y = F.scaled_dot_product_attention(
                q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0
            )
        else:
            mask = causal_mask(T_new, T_all, q.device)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.merge_heads(y)

    def forward_explicit(self, x, ablate_heads=()):
        """The same computation written out step by step; returns (output, pattern (B, H, T, T))."""
        q, k, v = self.split_heads(x)
        T = q.size(2)
        # Scaled dot products: dividing by sqrt(D) keeps the scores' spread independent of
        # the head width, so the softmax does not saturate.
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, H, T, T)
        scores = scores.masked_fill(~causal_mask(T, T, x.device), float("-inf"))
        pattern = scores.softmax(dim=-1)  # each row sums to 1
        y = pattern @ v  # (B, H, T, D): weighted sum of the values
        for head in ablate_heads:
            y[:, head] = 0.0
        return self.merge_heads(y), pattern


def causal_mask(T_query: int, T_key: int, device=None) -> torch.Tensor:
    """(T_query, T_key) booleans, True where attention is allowed.

    The queries are the last T_query of the T_key positions.
    """
    offset = T_key - T_query
    rows = torch.arange(T_query, device=device).unsqueeze(1) + offset
    cols = torch.arange(T_key, device=device).unsqueeze(0)
    return cols <= rows


class FeedForward(nn.Module):
    """Each position on its own: widen to 4C, GELU, narrow back. Where patterns are stored."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.up = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.down = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def neurons(self, x):
        """(B, T, C) -> (B, T, 4C): the hidden activations after GELU, the "neurons"."""
        return F.gelu(self.up(x))

    def forward(self, x):
        return self.dropout(self.down(self.neurons(x)))

    def forward_explicit(self, x, ablate_neurons=()):
        """The same output, plus the neurons (B, T, 4C); chosen neurons can be switched off."""
        hidden = self.neurons(x)
        if len(ablate_neurons):
            hidden = hidden.clone()
            hidden[..., list(ablate_neurons)] = 0.0
        return self.dropout(self.down(hidden)), hidden


class Block(nn.Module):
    """One transformer block. Pre-norm: each sub-layer reads a normalised copy of the
    residual stream and adds its result back, so information can flow straight through."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = FeedForward(config)

    def forward(self, x, kv_cache=None):
        x = x + self.attn(self.ln1(x), kv_cache=kv_cache)
        x = x + self.mlp(self.ln2(x))
        return x


@dataclass
class Trace:
    """What `GPT.trace` saw inside the model (see docs/library.md for the shapes)."""

    logits: torch.Tensor  # (B, T, V); None when the trace stopped early (upto_layer)
    embed: torch.Tensor  # (B, T, C)
    attn_pattern: torch.Tensor  # (L, B, H, T, T)
    attn_out: torch.Tensor  # (L, B, T, C)
    mlp_hidden: torch.Tensor  # (L, B, T, 4C)
    mlp_out: torch.Tensor  # (L, B, T, C)
    resid_post: torch.Tensor  # (L, B, T, C)
    resid_mid: torch.Tensor = field(default=None)  # (L, B, T, C): after attention, before the MLP


class KVCache:
    """Remembers one layer's keys and values so generation does not recompute the past."""

    def __init__(self):
        self.k = None
        self.v = None

    def append(self, k, v):
        self.k = k if self.k is None else torch.cat([self.k, k], dim=2)
        self.v = v if self.v is None else torch.cat([self.v, v], dim=2)
        return self.k, self.v

    @property
    def length(self) -> int:
        return 0 if self.k is None else self.k.size(2)


class GPT(nn.Module):
    # True: with targets, forward computes the output layer and the loss in chunks and returns
    # (None, loss); the logits are never held at once (see course_lib.fused_loss).
    fused_loss = False

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)  # a vector per token
        self.pos_emb = nn.Embedding(config.block_size, config.n_embd)  # a vector per position
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # Weight tying: reading a token in and writing it out use the same table of vectors.
        self.lm_head.weight = self.tok_emb.weight
        self.apply(self._init_weights)
        # GPT-2's trick: the layers that write into the residual stream start smaller, so
        # the stream's size does not grow with depth.
        for name, p in self.named_parameters():
            if name.endswith("attn.proj.weight") or name.endswith("mlp.down.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        """Number of weights ("dials"); the tied output layer is counted once."""
        return sum(p.numel() for p in self.parameters())

    def set_dropout(self, p: float) -> "GPT":
        """Change every dropout rate in place (the config records the new rate); returns the model."""
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must be a number in [0, 1), not {p!r}")
        self.config.dropout = p
        for module in self.modules():
            if isinstance(module, nn.Dropout):
                module.p = p
            elif isinstance(module, CausalSelfAttention):
                module.dropout = p
        return self

    def check_idx(self, idx, start=0):
        """ValueError unless idx is (B, T) token ids that fit the context after `start` cached positions."""
        if not isinstance(idx, torch.Tensor) or idx.dim() != 2:
            raise ValueError(f"idx must be a tensor of shape (B, T), got {tuple(getattr(idx, 'shape', ()))}")
        T = idx.size(1)
        if T == 0:
            raise ValueError("idx is empty: the model needs at least one token")
        if start + T > self.config.block_size:
            raise ValueError(
                f"{start + T} tokens do not fit the context of {self.config.block_size}; "
                "crop the text from the left (course_lib.sampling does this)"
            )

    def embed(self, idx, start=0):
        """(B, T) token ids -> (B, T, C): token vector + position vector."""
        pos = torch.arange(start, start + idx.size(1), device=idx.device)
        return self.drop(self.tok_emb(idx) + self.pos_emb(pos))

    def hidden(self, idx, kv_caches=None):
        """(B, T) ids -> (B, T, C): the residual stream after the last block, through the final
        layer norm; the vectors the output layer turns into next-token scores."""
        start = kv_caches[0].length if kv_caches is not None else 0
        self.check_idx(idx, start)
        x = self.embed(idx, start)
        for i, block in enumerate(self.blocks):
            x = block(x, kv_cache=None if kv_caches is None else kv_caches[i])
        return self.ln_f(x)

    def forward(self, idx, targets=None, kv_caches=None):
        """idx (B, T) -> logits (B, T, V); with targets (B, T) also the mean cross-entropy.

        Targets equal to -100 are left out of the loss (used to learn only the
        assistant's words in chat fine-tuning).
        """
        if targets is not None and self.fused_loss:  # training on a GPU: the same loss, no logits kept
            return None, linear_cross_entropy(self.hidden(idx, kv_caches), self.lm_head.weight, targets)
        logits = self.lm_head(self.hidden(idx, kv_caches))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(
                logits.float().view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100
            )
        return logits, loss

    def new_kv_caches(self):
        return [KVCache() for _ in self.blocks]

    @torch.no_grad()
    def trace(self, idx, ablate_heads=(), ablate_neurons=(), ablate_attn=(), ablate_mlp=(), upto_layer=None) -> Trace:
        """The inspection path: same logits as `forward`, plus what happened inside.

        ablate_heads: (layer, head) pairs whose output is set to zero.
        ablate_neurons: (layer, neuron) pairs whose activation is set to zero.
        ablate_attn, ablate_mlp: layers whose whole attention / feed-forward output is zeroed.
        upto_layer: stop after this block (the Trace then holds layers 0..upto_layer, and
        logits is None): looking at an early layer costs only the layers before it.
        """
        self.check_idx(idx)
        L = self.config.n_layer
        last = L - 1 if upto_layer is None else upto_layer
        if not isinstance(last, int) or not 0 <= last < L:
            raise ValueError(f"upto_layer must be a layer 0..{L - 1} or None, not {upto_layer!r}")
        heads = _group_by_layer(ablate_heads, L, self.config.n_head, "head")
        neurons = _group_by_layer(ablate_neurons, L, 4 * self.config.n_embd, "neuron")
        no_attn = _layer_set(ablate_attn, L, "ablate_attn")
        no_mlp = _layer_set(ablate_mlp, L, "ablate_mlp")
        x = self.embed(idx)
        embed = x
        record = {k: [] for k in ("attn_pattern", "attn_out", "resid_mid", "mlp_hidden", "mlp_out", "resid_post")}
        for layer, block in enumerate(self.blocks[: last + 1]):
            attn_out, pattern = block.attn.forward_explicit(block.ln1(x), heads[layer])
            if layer in no_attn:
                attn_out = torch.zeros_like(attn_out)
            x = x + attn_out
            resid_mid = x
            mlp_out, hidden = block.mlp.forward_explicit(block.ln2(x), neurons[layer])
            if layer in no_mlp:
                mlp_out = torch.zeros_like(mlp_out)
            x = x + mlp_out
            for key, value in zip(record, (pattern, attn_out, resid_mid, hidden, mlp_out, x)):
                record[key].append(value)
        logits = self.lm_head(self.ln_f(x)) if last == L - 1 else None
        return Trace(logits=logits, embed=embed, **{k: torch.stack(v) for k, v in record.items()})


def _layer_set(layers, n_layer, what) -> set:
    layers = set(layers or ())
    bad = [l for l in layers if not isinstance(l, int) or not 0 <= l < n_layer]
    if bad:
        raise ValueError(f"{what}: {bad} are not layers of this model (0..{n_layer - 1})")
    return layers


def _group_by_layer(pairs, n_layer, n_units, what):
    groups = [[] for _ in range(n_layer)]
    for pair in pairs or ():
        layer, unit = pair
        if not (0 <= layer < n_layer and 0 <= unit < n_units):
            raise ValueError(
                f"({layer}, {unit}) is not a {what} of this model: layers 0..{n_layer - 1}, "
                f"{what}s 0..{n_units - 1}"
            )
        groups[layer].append(unit)
    return groups


def parameter_breakdown(model: GPT) -> dict:
    """Number of weights in each part of the model; the values add up to `model.num_params()`."""
    parts = {"token embedding": 0, "position embedding": 0, "attention": 0, "feed-forward": 0, "layer norms": 0}
    for name, p in model.named_parameters():  # the tied lm_head is listed once, as tok_emb
        if name.startswith("tok_emb"):
            parts["token embedding"] += p.numel()
        elif name.startswith("pos_emb"):
            parts["position embedding"] += p.numel()
        elif ".attn." in name:
            parts["attention"] += p.numel()
        elif ".mlp." in name:
            parts["feed-forward"] += p.numel()
        elif ".ln" in name or name.startswith("ln_f"):
            parts["layer norms"] += p.numel()
        else:
            raise AssertionError(f"parameter {name} belongs to no part")
    return parts
