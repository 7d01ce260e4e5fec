"""Tests for course_lib.tokenizer: worked examples, round trips, saving, bad input."""
import json
from collections import Counter

import pytest
import regex
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import paths
from course_lib.tokenizer import (
    GPT2_PATTERN,
    SPECIAL_TOKENS,
    BPETokenizer,
    CharTokenizer,
    load_tokenizer,
    main,
    readable_bytes,
    tokenizer_from_dict,
)

TRAIN_TEXT = (
    "To be, or not to be, that is the question:\n"
    "Whether 'tis nobler in the mind to suffer\n"
    "The slings and arrows of outrageous fortune,\n"
    "Or to take arms against a sea of troubles\n"
    "And by opposing end them. To die: to sleep;\n"
    "No more; and by a sleep to say we end\n"
    "The heart-ache and the thousand natural shocks\n"
    "That flesh is heir to, 'tis a consummation\n"
    "Devoutly to be wish'd. Naïve café, 12345 — ok?\n"
) * 2

_SHARED_BPE = BPETokenizer.train(TRAIN_TEXT, 256 + 60 + len(SPECIAL_TOKENS))


@pytest.fixture(scope="module")
def bpe():
    return _SHARED_BPE


@pytest.fixture(scope="module")
def char():
    return CharTokenizer.train(TRAIN_TEXT)


# --- the classic worked example ------------------------------------------------------------

def test_bpe_worked_example_without_presplit():
    # minbpe's example. "aa" is most frequent (4 overlapping pairs) -> 256. Then (256, a)
    # and (a, b) both occur twice; ties go to the smaller pair, (97, 98) -> 257 'ab'.
    # Then (256, 257) 'aaab' -> 258.
    tok = BPETokenizer.train("aaabdaaabac", 256 + 3, special_tokens=[], pattern=None)
    assert tok.merges == {(97, 97): 256, (97, 98): 257, (256, 257): 258}
    assert tok.vocab[258] == b"aaab"
    assert tok.vocab_size == 259
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert tok.decode([258, 100, 258, 97, 99]) == "aaabdaaabac"
    assert tok.pieces("aaabdaaabac") == [(258, "aaab"), (100, "d"), (258, "aaab"), (97, "a"), (99, "c")]


def _naive_train(text, n_merges, pattern):
    """Reference BPE: recount every pair over every chunk at each step (slow but obvious)."""
    chunks = regex.findall(pattern, text) if pattern else [text]
    words = [list(c.encode("utf-8")) for c in chunks]
    merges = []
    for k in range(n_merges):
        counts = Counter()
        for w in words:
            counts.update(zip(w, w[1:]))
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        new_id = 256 + k
        merges.append(best)
        new_words = []
        for w in words:
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words.append(out)
        words = new_words
    return merges, [t for w in words for t in w]


@pytest.mark.parametrize("pattern", [GPT2_PATTERN, None])
def test_incremental_training_matches_naive_reference(pattern):
    n_merges = 80
    tok = BPETokenizer.train(TRAIN_TEXT, 256 + n_merges, special_tokens=[], pattern=pattern)
    merges, ids = _naive_train(TRAIN_TEXT, n_merges, pattern)
    assert list(tok.merges) == merges
    # Encoding by merge rank gives the same ids as the training-time merges.
    assert tok.encode(TRAIN_TEXT) == ids


def test_training_is_deterministic():
    a = BPETokenizer.train(TRAIN_TEXT, 300)
    b = BPETokenizer.train(TRAIN_TEXT, 300)
    assert a.merges == b.merges and a.fingerprint() == b.fingerprint()


# --- vocabulary layout and special tokens ------------------------------------------------

def test_vocab_layout_and_special_ids(bpe, char):
    assert bpe.vocab_size == 256 + 60 + 5
    assert len(bpe.merges) == 60
    n = bpe.vocab_size - len(SPECIAL_TOKENS)
    assert bpe.special_ids == {s: n + i for i, s in enumerate(SPECIAL_TOKENS)}
    assert char.chars == sorted(set(TRAIN_TEXT))
    assert char.vocab_size == len(set(TRAIN_TEXT)) + len(SPECIAL_TOKENS)
    assert char.special_ids["<|endoftext|>"] == len(char.chars)


@pytest.mark.parametrize("which", ["bpe", "char"])
def test_special_tokens_encode_to_single_ids(which, bpe, char):
    tok = {"bpe": bpe, "char": char}[which]
    for s in SPECIAL_TOKENS:
        assert tok.encode(s) == [tok.special_ids[s]]
        assert tok.decode([tok.special_ids[s]]) == s
    text = "<|user|>To be<|end|><|assistant|>or not<|endoftext|>"
    ids = tok.encode(text)
    assert [i for i in ids if i in tok.special_ids.values()] == [
        tok.special_ids[s] for s in ["<|user|>", "<|end|>", "<|assistant|>", "<|endoftext|>"]]
    assert tok.decode(ids) == text


def test_allow_special_false_encodes_as_plain_text(bpe):
    text = "a<|user|>b"
    char = CharTokenizer.train(TRAIN_TEXT + "<|>")  # knows the characters of "<|user|>"
    for tok in (bpe, char):
        ids = tok.encode(text, allow_special=False)
        assert not set(ids) & set(tok.special_ids.values())
        assert len(ids) > 3
        assert tok.decode(ids) == text


def test_no_special_tokens():
    tok = BPETokenizer.train("hello hello", 258, special_tokens=[])
    assert tok.special_ids == {} and tok.vocab_size == 258
    assert tok.decode(tok.encode("<|user|>")) == "<|user|>"


# --- round trips ---------------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(st.text())
def test_bpe_roundtrip_any_text(s):
    tok = _SHARED_BPE
    assert tok.decode(tok.encode(s)) == s
    assert tok.decode(tok.encode(s, allow_special=False)) == s


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["<|user|>", "<|end|>", "to be", "é", "🙂", " ", "\n", "<|", "|>"])).map("".join))
def test_bpe_roundtrip_with_special_strings(s):
    tok = _SHARED_BPE
    assert tok.decode(tok.encode(s)) == s
    assert tok.decode(tok.encode(s, allow_special=False)) == s


def test_bpe_roundtrip_unseen_scripts(bpe):
    for s in ["", " ", "\n\n", "日本語のテキスト", "emoji 🙂👍🏽", "\x00\x01\x7f", "tab\tand\r\nCRLF", "ǅ ﬁ Ⅻ ١٢٣"]:
        assert bpe.decode(bpe.encode(s)) == s


def test_char_roundtrip(char):
    assert char.decode(char.encode(TRAIN_TEXT)) == TRAIN_TEXT


def test_bpe_compresses_its_training_text(bpe):
    assert len(bpe.encode(TRAIN_TEXT)) < 0.6 * len(TRAIN_TEXT.encode("utf-8"))


def test_decode_accepts_tensors(bpe):
    ids = bpe.encode("To be")
    assert bpe.decode(torch.tensor(ids)) == "To be"


# --- pieces --------------------------------------------------------------------------------

def test_pieces_show_text_and_bytes(bpe):
    text = "To be, or not to be"
    pieces = bpe.pieces(text)
    assert [i for i, _ in pieces] == bpe.encode(text)
    assert "".join(p for _, p in pieces) == text
    # A character made of several bytes that no merge joined: each byte shown as <0x..>.
    tok = BPETokenizer.train("abc", 256, special_tokens=[])
    assert tok.pieces("—") == [(0xE2, "<0xE2>"), (0x80, "<0x80>"), (0x94, "<0x94>")]
    assert readable_bytes(b" \xe2\x80") == " <0xE2><0x80>"
    assert readable_bytes("é".encode()) == "é"


def test_pieces_char_and_special(char):
    assert char.pieces("To<|end|>") == [(char.stoi["T"], "T"), (char.stoi["o"], "o"),
                                        (char.special_ids["<|end|>"], "<|end|>")]


# --- saving and loading --------------------------------------------------------------------

@pytest.mark.parametrize("which", ["bpe", "char"])
def test_save_load_roundtrip(which, bpe, char, tmp_path):
    tok = {"bpe": bpe, "char": char}[which]
    path = tok.save(tmp_path / f"{which}.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == which and data["vocab_size"] == tok.vocab_size
    loaded = load_tokenizer(path)
    assert type(loaded) is type(tok)
    assert loaded.fingerprint() == tok.fingerprint()
    assert loaded.special_ids == tok.special_ids
    for text in [TRAIN_TEXT, "<|user|>to be<|end|>", ""]:
        assert loaded.encode(text) == tok.encode(text)
    for text in [TRAIN_TEXT, "to be"]:
        assert loaded.encode(text, allow_special=False) == tok.encode(text, allow_special=False)


def test_save_load_without_presplit(tmp_path):
    tok = BPETokenizer.train("aaabdaaabac", 259, special_tokens=[], pattern=None)
    loaded = load_tokenizer(tok.save(tmp_path / "t.json"))
    assert loaded.pattern is None and loaded.encode("aaabdaaabac") == [258, 100, 258, 97, 99]


def test_load_errors(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(FileNotFoundError, match="nope.json"):
        load_tokenizer(missing)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not a valid tokenizer JSON"):
        load_tokenizer(bad)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"type": "wordpiece"}), encoding="utf-8")
    with pytest.raises(ValueError, match="wordpiece.*known types: bpe, char"):
        load_tokenizer(unknown)
    with pytest.raises(ValueError, match="missing the field 'merges'"):
        tokenizer_from_dict({"type": "bpe", "special_tokens": []})
    with pytest.raises(ValueError, match="does not exist yet"):
        tokenizer_from_dict({"type": "bpe", "special_tokens": [], "merges": [[300, 1]]})
    with pytest.raises(ValueError, match="vocab_size"):
        tokenizer_from_dict({"type": "char", "special_tokens": [], "chars": ["a"], "vocab_size": 5})
    with pytest.raises(ValueError):
        tokenizer_from_dict(["not", "a", "dict"])


# --- bad input -----------------------------------------------------------------------------

def test_decode_out_of_range(bpe, char):
    for tok in (bpe, char):
        with pytest.raises(ValueError, match=r"0\.\.\d+"):
            tok.decode([tok.vocab_size])
        with pytest.raises(ValueError):
            tok.decode([-1])
    with pytest.raises(TypeError):
        bpe.decode("abc")
    with pytest.raises(TypeError):
        bpe.decode([[1, 2]])


def test_arbitrary_ids_decode_with_replacement(bpe):
    assert bpe.decode([0xE2]) == "\ufffd"


def test_encode_needs_str(bpe):
    with pytest.raises(TypeError):
        bpe.encode(b"bytes")
    with pytest.raises(ValueError, match="surrogate"):
        bpe.encode("a\ud800b")


@pytest.mark.parametrize("text, position", [("a\ud800b", 1), ("hello <|end|> wor\udc80ld", 17),
                                             ("to be, or not to be\ud800", 19)])
def test_a_lone_surrogate_is_reported_where_it_is_in_the_whole_text(bpe, char, text, position):
    for tok in (bpe, char):
        with pytest.raises(ValueError, match=f"at position {position},"):
            tok.encode(text)


def test_char_unknown_characters(char):
    with pytest.raises(ValueError) as info:
        char.encode("To be ☃ or Zz")
    msg = str(info.value)
    assert "'☃'" in msg and "'Z'" in msg and "training text" in msg
    with pytest.raises(ValueError, match="unknown"):
        CharTokenizer.train("abc").encode("<|user|>", allow_special=False)


def test_train_bad_arguments():
    with pytest.raises(ValueError, match="at least 256 \\+ 5"):
        BPETokenizer.train("hello", 260)
    with pytest.raises(ValueError):
        BPETokenizer.train("hello", 256.5)
    with pytest.raises(ValueError, match="empty"):
        BPETokenizer.train("", 300)
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer.train("")
    with pytest.raises(ValueError, match="distinct"):
        CharTokenizer.train("abc", special_tokens=["<|a|>", "<|a|>"])
    with pytest.raises(ValueError):
        CharTokenizer.train("abc", special_tokens="<|a|>")


def test_running_out_of_pairs_warns():
    with pytest.warns(UserWarning, match="ran out of pairs"):
        tok = BPETokenizer.train("ab ab", 300, special_tokens=[])
    assert list(tok.merges) == [(97, 98), (32, 256)]  # "ab", then " ab"; nothing is left
    assert tok.vocab_size == 258
    assert tok.decode(tok.encode("ab ab")) == "ab ab"


# --- the committed tokenizers and the command line -----------------------------------------

def test_committed_tokenizers_load():
    bpe = load_tokenizer(paths.REPO_DIR / "data" / "tokenizer_bpe.json")
    assert isinstance(bpe, BPETokenizer) and bpe.vocab_size == 2048
    assert bpe.special_tokens == SPECIAL_TOKENS
    assert bpe.special_ids["<|endoftext|>"] == 2048 - len(SPECIAL_TOKENS)
    line = "Now is the winter of our discontent\nMade glorious summer by this sun of York;"
    ids = bpe.encode(line)
    assert bpe.decode(ids) == line and len(ids) < len(line) / 2.5
    char = load_tokenizer(paths.REPO_DIR / "data" / "tokenizer_char.json")
    assert isinstance(char, CharTokenizer) and char.decode(char.encode(line)) == line


def test_cli_train_and_show(tmp_path, capsys):
    src = tmp_path / "text.txt"
    src.write_text(TRAIN_TEXT, encoding="utf-8")
    out = tmp_path / "tok.json"
    assert main(["train", "--kind", "bpe", "--vocab-size", "300", "--data", str(src), "--out", str(out)]) == 0
    assert "Trained in" in capsys.readouterr().out
    assert load_tokenizer(out).vocab_size == 300
    assert main(["show", "--tokenizer", str(out), "To be"]) == 0
    shown = capsys.readouterr().out
    assert "'To'" in shown and "' be'" in shown
    assert main(["train", "--kind", "char", "--data", str(tmp_path / "missing.txt"), "--out", str(out)]) == 1
    assert "No such file" in capsys.readouterr().err
