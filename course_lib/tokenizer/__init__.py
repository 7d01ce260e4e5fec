"""Text <-> token ids: a character tokenizer and a byte-level BPE tokenizer.

A language model reads numbers, not letters. A tokenizer cuts text into pieces from a
fixed list (the vocabulary) and gives each piece its number (its id):

- `CharTokenizer`: one token per distinct character of the training text. Tiny
  vocabulary, long sequences, and it cannot encode a character it has never seen.
- `BPETokenizer`: byte-level byte-pair encoding, as in GPT-2. Start from the 256 possible
  bytes (so any text can be encoded), then repeatedly merge the most frequent
  neighbouring pair of tokens into a new token, until the vocabulary is full.

Both end their vocabulary with the special tokens (`SPECIAL_TOKENS`), which mark the end
of a text and the turns of a chat.

    from course_lib.tokenizer import load_tokenizer
    tok = load_tokenizer("data/tokenizer_bpe.json")
    ids = tok.encode("To be, or not to be")   # a list of ints
    tok.decode(ids)                           # 'To be, or not to be'
    tok.pieces("To be")                       # [(410, 'To'), (304, ' be')]

The shape of the code follows Andrej Karpathy's minbpe: the base class `Tokenizer` holds
the mechanics (special tokens, decoding checks, saving), the subclasses say how ordinary
text becomes ids. Remake the committed tokenizer with
`python -m course_lib.tokenizer train --kind bpe --vocab-size 2048 --out data/tokenizer_bpe.json`.
"""
from __future__ import annotations

import json
from pathlib import Path

import regex

from .base import FORMAT_VERSION, GPT2_PATTERN, SPECIAL_TOKENS, Tokenizer, readable_bytes
from .bpe import BPETokenizer, merge_pair
from .char import CharTokenizer
from .cli import main

__all__ = ["FORMAT_VERSION", "GPT2_PATTERN", "KINDS", "SPECIAL_TOKENS", "BPETokenizer", "CharTokenizer", "Tokenizer",
           "load_tokenizer", "main", "make_tokenizer", "merge_pair", "readable_bytes", "tokenizer_from_dict"]

_KINDS = {"char": CharTokenizer, "bpe": BPETokenizer}


def tokenizer_from_dict(d: dict, source: str = "the data") -> Tokenizer:
    """Rebuild a tokenizer from `Tokenizer.to_dict()` output."""
    if not isinstance(d, dict):
        raise ValueError(f"{source} is not a tokenizer description (expected a JSON object)")
    kind = d.get("type")
    if kind not in _KINDS:
        raise ValueError(f"{source} has tokenizer type {kind!r}; known types: {', '.join(sorted(_KINDS))}")
    try:
        specials = d["special_tokens"]
        if kind == "char":
            tok = CharTokenizer(d["chars"], special_tokens=specials)
        else:
            tok = BPETokenizer([tuple(m) for m in d["merges"]], pattern=d.get("pattern"),
                               special_tokens=specials)
    except KeyError as err:
        raise ValueError(f"{source} is missing the field {err.args[0]!r} for a {kind} tokenizer") from None
    except (TypeError, ValueError, regex.error) as err:
        raise ValueError(f"{source} holds a broken {kind} tokenizer: {err}") from None
    if "vocab_size" in d and d["vocab_size"] != tok.vocab_size:
        raise ValueError(f"{source} says vocab_size {d['vocab_size']} but its contents make {tok.vocab_size}")
    return tok


def load_tokenizer(path) -> Tokenizer:
    """Load a tokenizer saved with `.save(path)`; the "type" field picks the class."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(
            f"No tokenizer file at {p}. Train one with: python -m course_lib.tokenizer train "
            f"--kind bpe --vocab-size 2048 --out {p}")
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{p} is not a valid tokenizer JSON file: {err}") from None
    return tokenizer_from_dict(d, source=str(p))


KINDS = tuple(_KINDS)  # what `make_tokenizer` (and `python -m course_lib.train --tokenizer`) accepts


def make_tokenizer(kind: str, text: str, tokenizer_file=None) -> Tokenizer:
    """The tokenizer a training run uses. 'char': a CharTokenizer trained on `text`; 'bpe':
    the committed BPE tokenizer (data/tokenizer_bpe.json). A `tokenizer_file` wins over both."""
    if tokenizer_file is not None:
        return load_tokenizer(tokenizer_file)
    if kind == "char":
        return CharTokenizer.train(text)
    if kind == "bpe":
        from course_lib import paths

        return load_tokenizer(Path(paths.DATA_DIR) / "tokenizer_bpe.json")
    raise ValueError(f"tokenizer must be one of {KINDS}, not {kind!r}")
