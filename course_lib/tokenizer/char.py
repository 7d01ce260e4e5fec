"""One token per distinct character of the training text."""
from __future__ import annotations

from .base import SPECIAL_TOKENS, Tokenizer, _check_text


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
