"""Byte-level byte-pair encoding, as in GPT-2: start from the 256 bytes, merge the most
frequent neighbouring pair into a new token, repeat until the vocabulary is full."""
from __future__ import annotations

import heapq
import operator
import time
import warnings
from collections import Counter, defaultdict

import regex


from .base import (_ENCODE_CACHE_MAX, GPT2_PATTERN, SPECIAL_TOKENS, Tokenizer, _check_special_tokens, _check_text,
                   _utf8, readable_bytes)


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
