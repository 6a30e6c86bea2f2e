"""Writing outputs: atomically, marked as this project's, and never over anything else.

Rules (what :func:`atomic_dir` promises)
---------------------------------------
Ownership
    A folder is *an output of idlib-sim* when it holds a ``manifest.json`` whose ``producer`` is
    ``"idlib-sim"`` and every entry in it is either that manifest, a file listed in the manifest's
    ``files``, or a folder on the way to a listed file. Symbolic links are never ours. Only such a
    folder is ever replaced; anything else at the target (a user's folder, a file, a link, an
    older output without the marker) is refused with :class:`OutputError` before any work, and
    so are targets with no final name (``.``, ``..``, ``/``, ``a/..``), the home folder and the
    working folder or any folder containing it.
Writing
    Files go into ``.NAME.tmp-PID-XXXXXXXX`` beside the target (``PID`` of the writing process,
    eight random hex digits), created with the user's umask. When the block ends without error
    the manifest is sealed (``producer``, ``kind``, ``files``) and the folder swapped in with two
    renames: ``NAME`` -> ``.NAME.old-PID``, then the temporary folder -> ``NAME``; the old output
    is deleted last. An error inside the block deletes the temporary folder and leaves ``NAME``
    as it was.
Recovery (at the start of every write to ``NAME``; only leftovers of processes no longer alive)
    1. ``NAME`` missing and ``.NAME.old-PID`` present: the process was killed between the two
       renames. Its ``.NAME.tmp-PID-*`` was sealed before the first rename, so if it is a
       complete output the swap is finished (it becomes ``NAME``); otherwise ``.NAME.old-PID``
       is restored as ``NAME``. Either way ``NAME`` is an old-or-new complete output again.
    2. ``.NAME.old-PID`` beside an existing ``NAME``: killed after the swap, while deleting the
       old output. The manifest is deleted last, so a partly deleted old output still reads as
       ours: it is deleted if it is an output of idlib-sim or empty, and otherwise left alone
       (versions before these rules could move a user's folder there).
    3. ``.NAME.tmp-PID-*``: killed while writing (or before the swap): it is deleted.
    Entries of a process still alive, and entries not matching these exact patterns, are left
    alone. Restoring is a rename, never a deletion.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from sim.errors import IdlibSimError

PRODUCER = "idlib-sim"
KINDS = ("run", "comparison", "theatre", "analysis")
MANIFEST = "manifest.json"
# A portable file name, as scenario names must be: no separators, so ``out/NAME`` stays in ``out/``.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]+")
# Room left in a 255-byte file name for the ``.NAME.tmp-PID-XXXXXXXX`` wrapper.
_MAX_NAME_BYTES = 255 - len(".") - len(".tmp-4294967295-ffffffff")
_MAX_MANIFEST_BYTES = 1 << 20


class OutputError(IdlibSimError):
    """An output folder cannot be written (the message names the path and why)."""


def package_version() -> str:
    try:
        return metadata.version("idlib-sim")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def default_dir(name: str, *, root: str | Path = "out", what: str = "scenario name") -> Path:
    """``root/name``, refused unless ``name`` is one portable file name (so it stays in root)."""
    if not _SAFE_NAME.fullmatch(name) or name in (".", ".."):
        raise OutputError(f"{what} {name!r} cannot name a folder under {Path(root)}/: use only "
                          "letters, digits, '_', '.' and '-' (not '.' or '..'), or give --out")
    return Path(root) / name


def check_target(target: str | Path) -> Path:
    """Check that ``target`` may be written, recovering leftovers of killed runs first.

    Returns the target with ``~`` expanded. Raises :class:`OutputError` when the target has no
    final name, is the home or working folder (or contains it), or exists but is not an output
    of idlib-sim (see the module docstring). Nothing is created or deleted except the leftovers
    the recovery rules name.
    """
    raw = os.fspath(target)
    path = Path(raw).expanduser()
    if "\0" in raw:
        raise OutputError(f"output folder {raw!r}: a path cannot contain a NUL character")
    if path.name in ("", ".", ".."):
        raise OutputError(f"output folder {raw!r} has no final name: give a folder to create, "
                          "e.g. out/run1")
    if len(os.fsencode(path.name)) > _MAX_NAME_BYTES:
        raise OutputError(f"output folder {raw!r}: the name is longer than {_MAX_NAME_BYTES} "
                          "bytes")
    try:
        real = path.parent.resolve() / path.name
        cwd, home = Path.cwd().resolve(), Path.home().resolve()
    except (OSError, RuntimeError) as exc:
        raise OutputError(f"output folder {raw!r}: cannot resolve it ({exc})") from None
    if real == cwd or real in cwd.parents:
        raise OutputError(f"refusing to write output folder {raw!r}: it is the working folder "
                          "or contains it")
    if real == home:
        raise OutputError(f"refusing to write output folder {raw!r}: it is the home folder")
    _check_parent(path, raw)
    _recover(path)
    reason = refusal(path)
    if reason is not None:
        raise OutputError(f"refusing to replace {raw!r}: {reason}; move it away or choose "
                          "another --out")
    return path


def _check_parent(path: Path, raw: str) -> None:
    """The nearest existing ancestor must be a folder we can write in."""
    anc = path.parent
    while not os.path.lexists(anc) and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise OutputError(f"output folder {raw!r}: {str(anc)!r} is not a folder")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {raw!r}: no permission to write in {str(anc)!r}")


def refusal(path: str | Path) -> str | None:
    """Why ``path`` may not be replaced, or ``None`` (it is absent or an output of idlib-sim)."""
    path = Path(path)
    if not os.path.lexists(path):
        return None
    if path.is_symlink():
        return "it is a symbolic link"
    if not path.is_dir():
        return "it is not a folder"
    man = path / MANIFEST
    if man.is_symlink() or not man.is_file():
        return f"it holds no {MANIFEST}, so idlib-sim did not write it"
    try:
        if man.stat().st_size > _MAX_MANIFEST_BYTES:
            return f"its {MANIFEST} is not one idlib-sim writes (too large)"
        data = json.loads(man.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return f"its {MANIFEST} is not readable JSON"
    if not isinstance(data, dict) or data.get("producer") != PRODUCER:
        return (f"its {MANIFEST} does not name producer {PRODUCER!r} (an output of an older "
                "version? delete it yourself if so)")
    files = data.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return f"its {MANIFEST} has no list of the files idlib-sim wrote"
    return _foreign_entry(path, set(files))


def _foreign_entry(path: Path, files: set[str]) -> str | None:
    """The first entry under ``path`` that is not the manifest, a listed file or a folder on the
    way to one (as a refusal reason), or ``None``."""
    allowed_dirs = {p.as_posix() for f in files for p in Path(f).parents if p != Path(".")}
    errors: list[OSError] = []
    for root, dirnames, filenames in os.walk(path, onerror=errors.append):
        for name in sorted(dirnames + filenames):
            full = Path(root) / name
            rel = full.relative_to(path).as_posix()
            if full.is_symlink():
                return f"it holds {rel!r}, a symbolic link idlib-sim did not write"
            if name in dirnames and rel not in allowed_dirs:
                return f"it holds {rel + '/'!r}, which idlib-sim did not write"
            if name in filenames and rel not in files and rel != MANIFEST:
                return f"it holds {rel!r}, which idlib-sim did not write"
    if errors:
        return f"part of it cannot be read ({errors[0].strerror})"
    return None


@contextlib.contextmanager
def atomic_dir(target: str | Path, kind: str) -> Iterator[Path]:
    """Yield a fresh temporary folder that replaces ``target`` when the block ends without error.

    ``kind`` (one of :data:`KINDS`) is recorded in the sealed manifest. The target is checked
    with :func:`check_target` before the folder is made (the command line checks it earlier
    too, before any simulation), and again just before the swap.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    target = check_target(target)
    tmp = _make_tmp(target)
    try:
        yield tmp
        _seal(tmp, kind)
        reason = refusal(target)  # something may have appeared there during a long run
        if reason is not None:
            raise OutputError(f"refusing to replace {str(target)!r}: {reason}; the new output "
                              "was discarded")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap(tmp, target)


def _make_tmp(target: Path) -> Path:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        while True:
            tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
            try:
                tmp.mkdir()  # mode 0o777 less the umask, unlike mkdtemp's 0o700
                return tmp
            except FileExistsError:
                continue
    except OSError as exc:
        raise OutputError(f"cannot create output folder {str(target)!r}: {exc.strerror}"
                          ) from None


def _seal(tmp: Path, kind: str) -> None:
    """Complete the manifest: who wrote the folder, what kind of output, which files."""
    man = tmp / MANIFEST
    data: dict[str, Any] = json.loads(man.read_text()) if man.exists() else _manifest_head()
    files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*")
                   if p.is_file() and p != man)
    data.update(producer=PRODUCER, kind=kind, files=files)
    atomic_write_text(man, json.dumps(data, indent=2, default=str) + "\n")


def _swap(tmp: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    try:
        if os.path.lexists(old):  # ours: a deletion of this process that failed earlier
            _remove_output(old)
        moved = os.path.lexists(target)
        if moved:
            os.replace(target, old)
        try:
            os.replace(tmp, target)
        except OSError:
            if moved:
                os.replace(old, target)
            raise
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"cannot replace {str(target)!r}: {exc.strerror}") from None
    if moved:
        with contextlib.suppress(OSError):  # what is left is cleaned by the next write
            _remove_output(old)


def _remove_output(path: Path) -> None:
    """Delete an output of ours, its manifest last, so that until the folder is empty it still
    reads as ours (recovery rule 2)."""
    for entry in sorted(path.iterdir()):
        if entry.name == MANIFEST:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            os.unlink(entry)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path / MANIFEST)
    os.rmdir(path)


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, killed but not yet reaped, does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OverflowError:
        return False
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] != "Z"
    return True


def _recover(target: Path) -> None:
    """Apply the recovery rules of the module docstring to leftovers beside ``target``."""
    parent = target.parent
    if not parent.is_dir():
        return
    esc = re.escape(target.name)
    tmp_re = re.compile(rf"\.{esc}\.tmp-(\d+)-[0-9a-f]{{8}}")
    old_re = re.compile(rf"\.{esc}\.old-(\d+)")
    tmps: list[tuple[int, Path]] = []
    olds: list[tuple[int, Path]] = []
    try:
        with os.scandir(parent) as it:
            for e in it:
                if e.is_symlink() or not e.is_dir(follow_symlinks=False):
                    continue
                if m := tmp_re.fullmatch(e.name):
                    tmps.append((int(m.group(1)), Path(e.path)))
                elif m := old_re.fullmatch(e.name):
                    olds.append((int(m.group(1)), Path(e.path)))
        dead_tmps = [(pid, p) for pid, p in tmps if not _pid_alive(pid)]
        dead_olds = sorted(((pid, p) for pid, p in olds if not _pid_alive(pid)),
                           key=lambda x: x[1].stat().st_mtime, reverse=True)
        for pid, old in dead_olds:
            if not os.path.lexists(target):
                sealed = [p for q, p in dead_tmps if q == pid and refusal(p) is None]
                if sealed:  # rule 1: finish the swap
                    os.replace(sealed[0], target)
                else:  # rule 1: restore the old output
                    os.replace(old, target)
                    continue
            if refusal(old) is None or not any(old.iterdir()):  # rule 2
                _remove_output(old)
        for _pid, tmp in dead_tmps:  # rule 3
            if os.path.lexists(tmp):
                shutil.rmtree(tmp)
    except OSError as exc:
        raise OutputError(f"cannot clean the leftovers of an interrupted run beside "
                          f"{str(target)!r}: {exc}") from None


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling file renamed into place.

    A reader sees either the old file or the new one, never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _manifest_head() -> dict[str, Any]:
    return {"version": package_version(),
            "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


def write_manifest(directory: Path, **fields: Any) -> None:
    """``manifest.json``: seed, scenario hash, version, engine and whatever else is given.

    :func:`atomic_dir` adds ``producer``, ``kind`` and ``files`` when it seals the folder.
    """
    data = {**_manifest_head(), **fields}
    (directory / MANIFEST).write_text(json.dumps(data, indent=2, default=str) + "\n")
