"""Files that are never half written.

- `atomic_write_*`: write a temporary file beside the target, then rename it. A rename
  within one folder is atomic, so a reader (or a run killed halfway) sees either the old
  file or the new one, never half of one. A run killed before the rename leaves its
  temporary file behind; the next write to the same folder removes such leftovers of
  processes that are no longer running.
- `append_line_atomic`: add one line to a JSON-lines file that several processes may
  write at once (every class-mode tab has its own kernel): one `write` of the whole line
  to a file opened for appending, under an exclusive lock, so no line is lost or torn.
"""
import json
import os
import re
import tempfile
from pathlib import Path

try:  # POSIX; on Windows appends still go out as one write, without the lock
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: leave its files alone
        return True
    return True


def remove_stale_temps(folder, name=None) -> list:
    """Delete temporary files that killed writers left in `folder` (only for `name`, if given).

    Returns the paths removed. Files of writers that are still running are kept.
    """
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = _TEMP.match(p.name)
        if m and (name is None or m["name"] == name) and not _alive(int(m["pid"])):
            try:
                p.unlink()
                removed.append(p)
            except FileNotFoundError:  # another process cleaned it first
                pass
    return removed


def atomic_write_bytes(path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
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
    """JSON with indentation; NaN and infinity are refused (they are not JSON)."""
    try:
        text = json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError as e:
        raise ValueError(f"cannot write {path}: a value is NaN or infinite, which JSON cannot hold ({e})") from e
    return atomic_write_text(path, text + "\n")


def append_line_atomic(path, line: str) -> Path:
    """Append one line (without its newline) to a text file; safe with concurrent writers.

    The file is opened for appending (every write lands at the end, whoever else writes)
    and locked while the whole line goes out in one write. If a writer was killed in the
    middle of a line before (a file that does not end with a newline), the new line
    starts on a line of its own.
    """
    if not isinstance(line, str) or "\n" in line or "\r" in line:
        raise ValueError("append_line_atomic takes one line of text without a newline character")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = line.encode("utf-8") + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size:
            with open(path, "rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    data = b"\n" + data
        written = 0
        while written < len(data):  # one write() for a line of normal size; loop if the OS splits it
            written += os.write(fd, data[written:])
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
    return path
