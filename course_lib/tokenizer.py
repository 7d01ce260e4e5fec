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

import argparse
import codecs
import hashlib
import heapq
import json
import operator
import re
import sys
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path

import regex

from course_lib.fileio import atomic_write_text

SPECIAL_TOKENS = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]

# GPT-2's pre-split: contractions, words with their leading space, numbers, punctuation
# runs, whitespace. BPE merges never cross the boundaries of these chunks.
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

FORMAT_VERSION = 1
_ENCODE_CACHE_MAX = 200_000  # chunks remembered by BPETokenizer.encode


def _hex_bytes(err):
    """Codec error handler: show undecodable bytes as <0xE2> (for `pieces`)."""
    if isinstance(err, UnicodeDecodeError):
        return "".join(f"<0x{b:02X}>" for b in err.object[err.start:err.end]), err.end
    raise err


codecs.register_error("course_lib.hexbytes", _hex_bytes)


def readable_bytes(data: bytes) -> str:
    """Bytes as text; bytes that are not valid UTF-8 on their own appear as '<0xE2>'."""
    return data.decode("utf-8", errors="course_lib.hexbytes")


def _check_special_tokens(special_tokens) -> list[str]:
    if isinstance(special_tokens, str):
        raise ValueError("special_tokens must be a list of strings, not one string")
    specials = list(special_tokens or [])
    for s in specials:
        if not isinstance(s, str) or not s:
            raise ValueError(f"special tokens must be non-empty strings, got {s!r}")
    dupes = sorted({s for s in specials if specials.count(s) > 1})
    if dupes:
        raise ValueError(f"special tokens must be distinct; repeated: {dupes}")
    return specials


def _check_text(text, what="text") -> str:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, got {type(text).__name__}")
    _utf8(text)  # a lone surrogate is reported at its position in the whole text
    return text


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(
            f"the text has a lone surrogate {text[err.start]!r} at position {err.start}, which "
            f"has no UTF-8 form; only proper Unicode text can be encoded") from None


class Tokenizer:
    """The mechanics shared by all tokenizers.

    Ids `0 .. n_regular - 1` are the subclass's ordinary tokens; the special tokens come
    after them, in the order given. Subclasses implement `_encode_ordinary`,
    `_token_bytes_or_text` and `_state`.
    """

    kind = "base"

    def __init__(self, special_tokens=SPECIAL_TOKENS):
        specials = _check_special_tokens(special_tokens)
        n = self.n_regular
        self.special_tokens: list[str] = specials
        self.special_ids: dict[str, int] = {s: n + i for i, s in enumerate(specials)}
        self._special_by_id = {i: s for s, i in self.special_ids.items()}
        # Longest first, so a special token that contains another one wins.
        alternatives = "|".join(re.escape(s) for s in sorted(specials, key=len, reverse=True))
        self._special_re = re.compile(f"({alternatives})") if specials else None

    # -- sizes ---------------------------------------------------------------------------
    @property
    def n_regular(self) -> int:
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        """Number of distinct ids, special tokens included."""
        return self.n_regular + len(self.special_tokens)

    # -- text -> ids ---------------------------------------------------------------------
    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        """Token ids of `text`.

        With `allow_special=True` every occurrence of a special-token string (such as
        "<|user|>") becomes that token's single id; with False it is encoded as ordinary
        text, like any other characters.
        """
        _check_text(text)
        if not allow_special or self._special_re is None:
            return self._encode_ordinary(text)
        ids: list[int] = []
        for i, part in enumerate(self._special_re.split(text)):
            if i % 2:
                ids.append(self.special_ids[part])
            elif part:
                ids.extend(self._encode_ordinary(part))
        return ids

    def _encode_ordinary(self, text: str) -> list[int]:
        raise NotImplementedError

    # -- ids -> text ---------------------------------------------------------------------
    def _check_ids(self, ids) -> list[int]:
        if hasattr(ids, "tolist"):  # torch tensor or numpy array
            ids = ids.tolist()
        if isinstance(ids, int):
            ids = [ids]
        if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
            raise TypeError(f"ids must be a list of integers, got {type(ids).__name__}")
        if not isinstance(ids, list) or not all(type(i) is int for i in ids):
            try:
                ids = [operator.index(i) for i in ids]
            except TypeError:
                raise TypeError("ids must be a flat list of integers (a 1-D tensor works too)") from None
        V = self.vocab_size
        if ids and (min(ids) < 0 or max(ids) >= V):
            bad = [i for i in ids if not 0 <= i < V]
            raise ValueError(
                f"token ids must be in 0..{V - 1} for this tokenizer (vocab_size={V}); got "
                f"{bad[:10]}{' ...' if len(bad) > 10 else ''}")
        return ids

    def decode(self, ids) -> str:
        """The text for a list of ids (ValueError for ids outside 0..vocab_size-1).

        For ids that came from `encode` the text is exactly the original. An arbitrary id
        sequence may cut a character in half; BPE then shows '\ufffd' there.
        """
        return self._decode(self._check_ids(ids))

    def _decode(self, ids: list[int]) -> str:
        raise NotImplementedError

    def token_text(self, token_id: int) -> str:
        """The text one token stands for ('<0xE2>' for a lone byte that is not UTF-8)."""
        (token_id,) = self._check_ids([token_id])
        if token_id in self._special_by_id:
            return self._special_by_id[token_id]
        piece = self._token_bytes_or_text(token_id)
        return readable_bytes(piece) if isinstance(piece, bytes) else piece

    def _token_bytes_or_text(self, token_id: int):
        raise NotImplementedError

    def pieces(self, text: str, allow_special: bool = True) -> list[tuple[int, str]]:
        """How `text` splits: a list of (token id, the text that token stands for)."""
        return [(i, self.token_text(i)) for i in self.encode(text, allow_special=allow_special)]

    # -- saving --------------------------------------------------------------------------
    def _state(self) -> dict:
        raise NotImplementedError

    def to_dict(self) -> dict:
        """Everything needed to rebuild the tokenizer, as plain JSON-able data."""
        return {"type": self.kind, "version": FORMAT_VERSION, "vocab_size": self.vocab_size,
                "special_tokens": list(self.special_tokens), **self._state()}

    def save(self, path) -> Path:
        """Write the tokenizer to a JSON file (atomically); `load_tokenizer` reads it back.

        Lists are written one item per line (a merge, a token), so the file reads well and
        diffs well.
        """
        fields = []
        for key, value in self.to_dict().items():
            if isinstance(value, list) and value:
                items = ",\n    ".join(json.dumps(v, ensure_ascii=False) for v in value)
                fields.append(f"  {json.dumps(key)}: [\n    {items}\n  ]")
            else:
                fields.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
        return atomic_write_text(Path(path), "{\n" + ",\n".join(fields) + "\n}\n")

    def fingerprint(self) -> str:
        """SHA-256 of the tokenizer's content: equal fingerprints, equal encodings."""
        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=True)
        return hashlib.sha256(blob.encode("ascii")).hexdigest()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, special_tokens={len(self.special_tokens)})"


class CharTokenizer(Tokenizer):
    """One token per character: the sorted distinct characters of the training text."""

    kind = "char"

    def __init__(self, chars, special_tokens=SPECIAL_TOKENS):
        chars = list(chars)
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"CharTokenizer needs single characters, got {c!r}")
        if len(set(chars)) != len(chars):
            raise ValueError("CharTokenizer characters must be distinct")
        if not chars:
            raise ValueError("CharTokenizer needs at least one character")
        self.chars: list[str] = chars
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(chars)}
        self.itos: list[str] = list(chars)
        super().__init__(special_tokens)

    @classmethod
    def train(cls, text: str, special_tokens=SPECIAL_TOKENS) -> "CharTokenizer":
        """Vocabulary = the sorted distinct characters of `text`, then the special tokens."""
        _check_text(text)
        if not text:
            raise ValueError("cannot train a CharTokenizer on empty text")
        return cls(sorted(set(text)), special_tokens)

    @property
    def n_regular(self) -> int:
        return len(self.chars)

    def _encode_ordinary(self, text: str) -> list[int]:
        stoi = self.stoi
        try:
            return [stoi[c] for c in text]
        except KeyError:
            unknown = sorted({c for c in text if c not in stoi})
            shown = ", ".join(repr(c) for c in unknown[:20]) + (" ..." if len(unknown) > 20 else "")
            raise ValueError(
                f"CharTokenizer cannot encode {len(unknown)} unknown character(s): {shown}. "
                f"It only knows the {len(self.chars)} characters of its training text "
                f"(a byte-level BPETokenizer can encode any text).") from None

    def _decode(self, ids: list[int]) -> str:
        table = self.itos + self.special_tokens
        return "".join(map(table.__getitem__, ids))

    def _token_bytes_or_text(self, token_id: int):
        return self.itos[token_id]

    def _state(self) -> dict:
        return {"chars": list(self.chars)}


def merge_pair(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every non-overlapping occurrence of `pair` in `ids`, left to right."""
    a, b = pair
    out: list[int] = []
    i, n = 0, len(ids)
    while i < n:
        if ids[i] == a and i + 1 < n and ids[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


class BPETokenizer(Tokenizer):
    """Byte-level byte-pair encoding (GPT-2 style).

    Ids 0..255 are the bytes, 256.. are the learned merges in the order they were learned
    (`merges[(a, b)] = new id`), then the special tokens. Any Unicode text round-trips
    exactly: `decode(encode(s)) == s`.
    """

    kind = "bpe"

    def __init__(self, merges, pattern: str | None = GPT2_PATTERN, special_tokens=SPECIAL_TOKENS):
        self.merges: dict[tuple[int, int], int] = {}
        self.vocab: dict[int, bytes] = {i: bytes([i]) for i in range(256)}
        for a, b in merges:
            new_id = 256 + len(self.merges)
            a, b = operator.index(a), operator.index(b)
            if not (0 <= a < new_id and 0 <= b < new_id):
                raise ValueError(f"merge {len(self.merges)} ({a}, {b}) uses an id that does not exist yet")
            if (a, b) in self.merges:
                raise ValueError(f"merge ({a}, {b}) appears twice")
            self.merges[(a, b)] = new_id
            self.vocab[new_id] = self.vocab[a] + self.vocab[b]
        if pattern is not None and not isinstance(pattern, str):
            raise ValueError("pattern must be a regular expression string or None")
        self.pattern = pattern
        self._compiled = regex.compile(pattern) if pattern else None
        self._cache: dict[str, tuple[int, ...]] = {}
        super().__init__(special_tokens)
        # id -> bytes as a list, for fast decoding; special tokens decode to their text.
        self._id_bytes = [self.vocab[i] for i in range(self.n_regular)]
        self._id_bytes += [s.encode("utf-8") for s in self.special_tokens]

    @property
    def n_regular(self) -> int:
        return 256 + len(self.merges)

    # -- training ------------------------------------------------------------------------
    @classmethod
    def train(cls, text: str, vocab_size: int, special_tokens=SPECIAL_TOKENS, verbose: bool = False,
              pattern: str | None = GPT2_PATTERN) -> "BPETokenizer":
        """Learn `vocab_size - 256 - len(special_tokens)` merges from `text`.

        The text is pre-split with `pattern` (GPT-2's by default; None = no split, the
        whole text is one chunk). Each distinct chunk is counted once with its frequency,
        and pair counts are updated only for the chunks a merge touches, so training on a
        few MB takes seconds. Ties between equally frequent pairs go to the smaller pair
        (compared as (first id, second id)), so training is deterministic. If the text
        runs out of pairs early the vocabulary ends up smaller (with a warning).
        """
        _check_text(text)
        specials = _check_special_tokens(special_tokens)
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
            raise ValueError(f"vocab_size must be an integer, got {vocab_size!r}")
        minimum = 256 + len(specials)
        if vocab_size < minimum:
            raise ValueError(
                f"vocab_size must be at least 256 + {len(specials)} special tokens = {minimum}, got {vocab_size}")
        if not text:
            raise ValueError("cannot train a BPETokenizer on empty text")
        n_merges = vocab_size - minimum
        t0 = time.perf_counter()
        chunks = Counter(regex.findall(pattern, text)) if pattern else Counter([text])
        words = [list(_utf8(chunk)) for chunk in chunks]
        freqs = list(chunks.values())
        if verbose:
            print(f"{len(text):,} characters -> {sum(freqs):,} chunks, {len(words):,} distinct; "
                  f"learning {n_merges} merges")

        counts: dict[tuple[int, int], int] = defaultdict(int)
        where: dict[tuple[int, int], set[int]] = defaultdict(set)  # pair -> chunks that had it
        for wi, (w, f) in enumerate(zip(words, freqs)):
            for pair in zip(w, w[1:]):
                counts[pair] += f
                where[pair].add(wi)
        heap = [(-c, pair) for pair, c in counts.items()]
        heapq.heapify(heap)

        vocab = {i: bytes([i]) for i in range(256)}
        merges: list[tuple[int, int]] = []
        report_every = max(1, n_merges // 20)
        while len(merges) < n_merges:
            # Most frequent pair; heap entries whose count is out of date are skipped.
            while heap:
                neg, pair = heapq.heappop(heap)
                if -neg > 0 and counts.get(pair, 0) == -neg:
                    break
            else:
                warnings.warn(
                    f"the training text ran out of pairs after {len(merges)} merges; the "
                    f"vocabulary has {256 + len(merges) + len(specials)} tokens instead of {vocab_size}",
                    stacklevel=2)
                break
            new_id = 256 + len(merges)
            merges.append(pair)
            vocab[new_id] = vocab[pair[0]] + vocab[pair[1]]
            changed = set()
            for wi in where.pop(pair):
                w = words[wi]
                new_w = merge_pair(w, pair, new_id)
                if len(new_w) == len(w):  # this chunk lost the pair earlier
                    continue
                f = freqs[wi]
                for p in zip(w, w[1:]):
                    counts[p] -= f
                    changed.add(p)
                for p in zip(new_w, new_w[1:]):
                    counts[p] += f
                    changed.add(p)
                    where[p].add(wi)
                words[wi] = new_w
            for p in changed:
                c = counts[p]
                if c > 0:
                    heapq.heappush(heap, (-c, p))
                else:
                    del counts[p]
            if verbose and (len(merges) % report_every == 0 or len(merges) == n_merges):
                print(f"merge {len(merges):>5}/{n_merges}: {readable_bytes(vocab[pair[0]])!r} + "
                      f"{readable_bytes(vocab[pair[1]])!r} -> {new_id} {readable_bytes(vocab[new_id])!r} "
                      f"({-neg:,} times)")
        if verbose:
            print(f"trained in {time.perf_counter() - t0:.1f} s")
        return cls(merges, pattern=pattern, special_tokens=specials)

    # -- encoding ------------------------------------------------------------------------
    def _encode_chunk(self, data: bytes) -> list[int]:
        """Apply the merges to one chunk, lowest rank (earliest learned) first."""
        ids = list(data)
        merges = self.merges
        while len(ids) >= 2:
            best_pair, best_id = None, None
            for pair in zip(ids, ids[1:]):
                new_id = merges.get(pair)
                if new_id is not None and (best_id is None or new_id < best_id):
                    best_pair, best_id = pair, new_id
            if best_pair is None:
                break
            ids = merge_pair(ids, best_pair, best_id)
        return ids

    def _encode_ordinary(self, text: str) -> list[int]:
        if self._compiled is None:
            return self._encode_chunk(_utf8(text))
        cache = self._cache
        ids: list[int] = []
        for chunk in self._compiled.findall(text):
            toks = cache.get(chunk)
            if toks is None:
                toks = tuple(self._encode_chunk(_utf8(chunk)))
                if len(cache) >= _ENCODE_CACHE_MAX:
                    cache.clear()
                cache[chunk] = toks
            ids.extend(toks)
        return ids

    # -- decoding ------------------------------------------------------------------------
    def token_bytes(self, token_id: int) -> bytes:
        """The raw bytes of one token (special tokens: their UTF-8 text)."""
        (token_id,) = self._check_ids([token_id])
        if token_id in self._special_by_id:
            return self._special_by_id[token_id].encode("utf-8")
        return self.vocab[token_id]

    def _decode(self, ids: list[int]) -> str:
        table = self._id_bytes
        return b"".join(map(table.__getitem__, ids)).decode("utf-8", errors="replace")

    def _token_bytes_or_text(self, token_id: int):
        return self.vocab[token_id]

    def _state(self) -> dict:
        return {
            "pattern": self.pattern,
            "merges": [list(pair) for pair in self.merges],
            # For people reading the file; ignored when loading.
            "tokens": [self.token_text(i) for i in range(self.vocab_size)],
        }


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


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.tokenizer",
                                     description="Train or try out a tokenizer.")
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train a tokenizer and save it as JSON")
    tr.add_argument("--kind", choices=sorted(_KINDS), default="bpe")
    tr.add_argument("--vocab-size", type=int, default=2048,
                    help="BPE only: total vocabulary size, special tokens included (default 2048)")
    tr.add_argument("--data", help="UTF-8 text file to train on (default: the Shakespeare corpus)")
    tr.add_argument("--out", required=True, help="where to write the JSON file")
    tr.add_argument("--verbose", action="store_true", help="print merges while training")
    sh = sub.add_parser("show", help="show how a text splits into tokens")
    sh.add_argument("--tokenizer", required=True, help="a tokenizer JSON file")
    sh.add_argument("text")
    args = parser.parse_args(argv)

    try:
        if args.command == "show":
            tok = load_tokenizer(args.tokenizer)
            for i, piece in tok.pieces(args.text):
                print(f"{i:>6}  {piece!r}")
            return 0
        from course_lib import data  # imported here: `show` needs no torch
        text = data.load_text(args.data) if args.data else data.load_corpus()
        source = args.data or "the Shakespeare corpus"
        print(f"Training a {args.kind} tokenizer on {source} ({len(text):,} characters)...")
        t0 = time.perf_counter()
        if args.kind == "bpe":
            tok = BPETokenizer.train(text, args.vocab_size, verbose=args.verbose)
        else:
            tok = CharTokenizer.train(text)
        seconds = time.perf_counter() - t0
        tok.save(args.out)
        print(f"Trained in {seconds:.1f} s: vocab_size {tok.vocab_size} "
              f"({len(tok.special_tokens)} special tokens). Saved {args.out}")
    except (FileNotFoundError, ValueError, ConnectionError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
