"""A folder of files that always reads as one set (a checkpoint: weights, config, tokenizer,
training state), even when the writer is killed halfway.

One file can be replaced atomically (course_lib.fileio), several cannot: a run killed
between two renames would leave the weights of step 41 beside a config of step 40. So a
set is written in two phases:

1. every file goes into the hidden folder `.next/` beside them, then `.next/manifest.json`
   (each file's size and SHA-256, and the step) last: until the manifest is there, the
   folder still holds the previous set, untouched, and the next writer deletes `.next/`;
2. the files move into place one rename each, the manifest follows, `.next/` goes.
   Killed during the moves, `.next/manifest.json` says what the set is: a reader takes
   each file from `.next/` while it is still there, else from the folder, and the next
   writer finishes the moves.

Readers check the files against the manifest when there is one. Folders written before
manifests existed (the committed checkpoints) have none and read as they always did.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from .fileio import atomic_write_bytes, atomic_write_json, remove_stale_temps

STAGING = ".next"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "course-file-set-v1"


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover (Windows cannot open folders)
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _read_manifest(path: Path):
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is damaged ({e}); delete it and the folder reads as a set without a manifest") from e
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT \
            or not isinstance(manifest.get("files"), dict):
        raise ValueError(f"{path} is not a manifest of this course (format {MANIFEST_FORMAT!r})")
    return manifest


def _finish(folder: Path) -> None:
    """Complete or drop what a killed writer left in `.next/` (writers only)."""
    staging = folder / STAGING
    if not staging.is_dir():
        return
    pending = staging / MANIFEST
    if pending.exists():
        manifest = _read_manifest(pending)
        for name in manifest["files"]:
            if (staging / name).exists():
                os.replace(staging / name, folder / name)
        for name in manifest.get("replaces", []):
            if name not in manifest["files"] and (folder / name).exists():
                (folder / name).unlink()
        os.replace(pending, folder / MANIFEST)
        _fsync_dir(folder)
    shutil.rmtree(staging, ignore_errors=True)


def write_set(folder, files: dict, info: dict | None = None, replaces=()) -> Path:
    """Write `files` ({name: bytes, or a function that writes the file at the path it is
    given}) into `folder` as one set, with the manifest naming `info` (e.g. {"step": 40}).
    Files named in `replaces` that the new set lacks are removed (a stale train_state.pt)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(folder)
    _finish(folder)
    staging = folder / STAGING
    staging.mkdir()
    entries = {}
    for name, data in files.items():
        target = staging / name
        if callable(data):
            data(target)
        else:
            atomic_write_bytes(target, data)
        entries[name] = {"bytes": target.stat().st_size, "sha256": sha256(target)}
    manifest = {"format": MANIFEST_FORMAT, **(info or {}), "files": entries, "replaces": sorted(replaces)}
    atomic_write_json(staging / MANIFEST, manifest)
    _finish(folder)
    return folder


def resolve(folder, name: str) -> tuple:
    """(path of file `name` of the set in `folder`, its manifest entry or None).

    The entry is None when the folder has no manifest (an old folder) or the manifest
    does not list the file. A file the manifest lists but that is gone: FileNotFoundError.
    """
    folder = Path(folder)
    pending = folder / STAGING / MANIFEST
    if pending.exists():
        try:
            manifest = _read_manifest(pending)
        except ValueError:  # a writer is finishing it right now, or it is junk: the folder's own set
            manifest = None
        if manifest is not None:
            if name not in manifest["files"] and name in manifest.get("replaces", []):
                return folder / STAGING / name, None  # not part of the new set: absent
            if name in manifest["files"] and (folder / STAGING / name).exists():
                return folder / STAGING / name, manifest["files"][name]
            return folder / name, manifest["files"].get(name)
    if (folder / MANIFEST).exists():
        manifest = _read_manifest(folder / MANIFEST)
        entry = manifest["files"].get(name)
        if entry is None and name in manifest.get("replaces", []) and (folder / name).exists():
            return folder / STAGING / name, None  # left from an older set (a killed writer's): absent
        if entry is not None and not (folder / name).exists():
            raise FileNotFoundError(f"{folder / name} is missing, but {folder / MANIFEST} lists it: "
                                    "the folder is incomplete (a file was deleted?)")
        return folder / name, entry
    return folder / name, None


def checked_path(folder, name: str) -> Path:
    """The path of file `name` of the set, after checking it against the manifest (size and
    SHA-256; files the manifest does not list pass unchecked); ValueError when it differs."""
    path, entry = resolve(folder, name)
    if entry is not None and path.exists():
        if path.stat().st_size != entry["bytes"] or sha256(path) != entry["sha256"]:
            advice = ("The run cannot continue from it: delete it to start a new run in this folder" if
                      name == "train_state.pt" else "Save it again (resume the run, or re-run the command that "
                      f"made it), or delete {MANIFEST} to load the files as they are")
            raise ValueError(f"{path} does not match {Path(folder) / MANIFEST} (size or SHA-256): it was changed "
                             f"after it was saved, or is damaged (truncated?). {advice}.")
    return path


def manifest_info(folder) -> dict | None:
    """The manifest of the set in `folder` (the pending one while a set is half moved), or None."""
    folder = Path(folder)
    for path in (folder / STAGING / MANIFEST, folder / MANIFEST):
        if path.exists():
            try:
                return _read_manifest(path)
            except ValueError:
                if path.parent.name != STAGING:
                    raise
    return None
