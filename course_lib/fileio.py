"""Atomic file writes: write a temporary file beside the target, then rename it.

A rename within one folder is atomic, so a reader (or a run killed halfway) sees either
the old file or the new one, never half of one.
"""
import json
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes private files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def append_line_atomic(path, line: str) -> Path:
    """Append one line to a text file so that a crash leaves no half line.

    The file is rewritten whole (old content + the new line) into a temporary file that
    then replaces it. That costs a copy per append, which is fine for the small JSON-lines
    files of the course (preference labels) and makes a torn line impossible.
    """
    if "\n" in line:
        raise ValueError("append_line_atomic takes one line without a newline character")
    path = Path(path)
    old = path.read_bytes() if path.exists() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    return atomic_write_bytes(path, old + line.encode("utf-8") + b"\n")
