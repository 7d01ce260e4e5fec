"""The mechanics every tokenizer shares: special tokens, decoding checks, saving."""
from __future__ import annotations

import codecs
import hashlib
import json
import operator
import re
from pathlib import Path


from ..fileio import atomic_write_text

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
