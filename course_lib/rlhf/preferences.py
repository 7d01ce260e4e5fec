"""Preferences: a prompt, two answers, and which one a person (or the rater) liked better.

A record is `{"prompt", "chosen", "rejected", "source": "human" | "simulated"}` (plus
`"tie": True` when neither was better, and any extra fields such as the rater's
"reason"), stored one JSON object a line and appended atomically, so a crash never
leaves half a line (`save_preference`, `load_preferences`).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

from .. import paths
from ..chat import dialogues_dir, load_jsonl
from ..fileio import append_line_atomic
from .rater import compare

SOURCES = ("human", "simulated")


def my_labels_path() -> Path:
    """Where the preference widget keeps the learner's own labels: data/preferences/my_labels.jsonl
    (git-ignored), or on a class server ($COURSE_CLASS_DIR set) the class folder's
    labels/<student>.jsonl (`classroom.class_labels_path`: created, and checked writable)."""
    from . import classroom

    if classroom.class_dir() is not None:
        return classroom.class_labels_path()
    return Path(paths.DATA_DIR) / "preferences" / "my_labels.jsonl"


def make_preference(prompt: str, chosen: str, rejected: str, source: str = "human", tie: bool = False,
                    **extra) -> dict:
    """A preference record: the prompt, the better answer, the worse one, who said so.

    tie=True records that neither answer was better ("chosen"/"rejected" are then just
    the first and second answer); training leaves ties out.
    """
    for name, value in (("prompt", prompt), ("chosen", chosen), ("rejected", rejected)):
        if not isinstance(value, str):
            raise ValueError(f"{name} must be text (str), not {type(value).__name__}")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    record = {"prompt": prompt, "chosen": chosen, "rejected": rejected, "source": source}
    if tie:
        record["tie"] = True
    record.update(extra)
    return record


def save_preference(record: dict, path=None) -> Path:
    """Append one preference to a JSON-lines file, atomically: a crash leaves no half line."""
    path = Path(path) if path is not None else my_labels_path()
    if not isinstance(record, dict):
        raise ValueError(f"a preference record is a dict (see make_preference), not {type(record).__name__}")
    make_preference(record.get("prompt"), record.get("chosen"), record.get("rejected"),
                    record.get("source", "human"))  # validates
    return append_line_atomic(path, record_line(record))


def record_line(record: dict) -> str:
    """One record as a line of JSON; ValueError naming the field for what JSON cannot hold
    (NaN, infinity, objects that are not numbers, text, lists or dicts), so a file never
    holds a line other programs cannot read."""
    for key, value in record.items():
        try:
            json.dumps(value, allow_nan=False)
        except ValueError:
            raise ValueError(f"field {key!r} is {value!r}: NaN and infinity are not JSON; use a finite number "
                             "or None") from None
        except TypeError:
            raise ValueError(f"field {key!r} is a {type(value).__name__}; a record holds only numbers, text, "
                             "True/False/None, lists and dicts") from None
    return json.dumps(record, ensure_ascii=False, allow_nan=False)


def load_preferences(path=None, include_ties: bool = False) -> list:
    """Preference records from a JSON-lines file; a missing file gives [].

    Crash-tolerant: a line that is not JSON or lacks a field (say, from a file someone
    edited by hand) is skipped with a warning, never an exception.
    """
    path = Path(path) if path is not None else my_labels_path()
    if not path.exists():
        return []
    records, bad = [], 0
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            make_preference(r["prompt"], r["chosen"], r["rejected"], r.get("source", "human"))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            bad += 1
            continue
        if r.get("tie") and not include_ties:
            continue
        records.append(r)
    if bad:
        warnings.warn(f"{path}: skipped {bad} damaged line(s)", stacklevel=2)
    return records


def simulated_preferences(split: str = "train") -> list:
    """The committed preference pairs labelled by the simulated rater ("train" or "heldout")."""
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', not {split!r}")
    return load_jsonl(dialogues_dir() / f"preferences_{split}.jsonl")


def label_with_rater(prompt: str, answer_a: str, answer_b: str) -> dict:
    """A preference record decided by the simulated rater (a tie when it cannot decide)."""
    verdict = compare(prompt, answer_a, answer_b)
    first, second = (answer_b, answer_a) if verdict["winner"] == "b" else (answer_a, answer_b)
    reason = verdict["reason_b"] if verdict["winner"] == "b" else verdict["reason_a"]
    return make_preference(prompt, first, second, "simulated", tie=verdict["winner"] == "tie", reason=reason)



def training_pairs(pairs: list) -> list:
    """The pairs that teach a preference: ties left out; ValueError when none is left."""
    pairs = [p for p in pairs if not p.get("tie")]
    if not pairs:
        raise ValueError("no preference pairs to learn from (ties do not count)")
    return pairs
