"""The analysts' accounts of ``wirewatch serve --accounts FILE``: read once at start, and added to.

The file has one account a line, ``NAME:HASH``, the hash as datasette-auth-passwords writes
it (``pbkdf2_sha256$ITERATIONS$SALT$HASH``); blank lines and lines starting with ``#`` are
left alone. ``add`` hashes a password and writes its line, so no one hashes by hand. The
file holds password hashes: it is written readable by its owner only, and one that anyone
may write to is refused, since whoever writes it chooses who may log in.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path

from datasette_auth_passwords.utils import hash_password

from monitor.errors import UsageError
from monitor.serve.analyst import NAME, NAME_RULE

MAX_FILE_BYTES = 1 << 20  # a desk's accounts fit in far less; more is not an accounts file
MIN_PASSWORD_CHARS = 8
# What datasette-auth-passwords' verify_password reads without failing.
HASH = re.compile(r"pbkdf2_sha256\$[1-9][0-9]{0,8}\$[^$\s]+\$[A-Za-z0-9+/]+={0,2}")


def read(path: Path) -> dict[str, str]:
    """Return each account's name and password hash in *path*; a UsageError for a file that
    cannot be read, anyone may write to, or has a malformed line, or no account at all."""
    accounts = _parse(path, _lines(path))
    if not accounts:
        raise UsageError(
            f"{path}: no accounts in the file: add one with "
            f"`wirewatch serve --accounts {path} --add-account NAME`"
        )
    return accounts


def _parse(path: Path, lines: list[tuple[int, str]]) -> dict[str, str]:
    accounts: dict[str, str] = {}
    for number, line in lines:
        if _skipped(line):
            continue
        name, colon, password_hash = line.strip().partition(":")
        if not colon or not HASH.fullmatch(password_hash):
            raise UsageError(
                f"{path}:{number}: not an account: write NAME:HASH, as "
                f"`wirewatch serve --accounts {path} --add-account NAME` does"
            )
        _check_name(name, f"{path}:{number}: account {name!r}")
        if name in accounts:
            raise UsageError(f"{path}:{number}: account {name!r} is already on an earlier line")
        accounts[name] = password_hash
    return accounts


def _skipped(line: str) -> bool:
    """Return True for a blank line or a comment."""
    return not line.strip() or line.lstrip().startswith("#")


def check(path: Path, name: str) -> None:
    """Raise a UsageError when the account *name* could not be added to *path*: a bad name,
    or a file that cannot be read or is malformed."""
    _check_name(name, f"--add-account {name!r}")
    if path.exists():
        _parse(path, _lines(path))


def add(path: Path, name: str, password: str) -> bool:
    """Write the account *name* with *password* (hashed) to *path*, replacing an account of
    that name; return True when it replaced one."""
    _check_name(name, f"--add-account {name!r}")
    if len(password) < MIN_PASSWORD_CHARS:
        raise UsageError(
            f"the password of {name!r} must have {MIN_PASSWORD_CHARS} characters or more"
        )
    lines = _lines(path) if path.exists() else []
    accounts = _parse(path, lines)  # a malformed file is said, never rewritten
    kept = [line for _, line in lines if _skipped(line) or line.strip().partition(":")[0] != name]
    while kept and not kept[-1].strip():
        kept.pop()
    kept.append(f"{name}:{hash_password(password)}")
    _write(path, "".join(f"{line}\n" for line in kept))
    return name in accounts


def _check_name(name: str, what: str) -> None:
    if not NAME.fullmatch(name):
        raise UsageError(f"{what} is not a name: use {NAME_RULE}")


def _lines(path: Path) -> list[tuple[int, str]]:
    """Return the numbered lines of *path*, refusing a file that others may write to."""
    try:
        with path.open("rb") as stream:
            mode = os.fstat(stream.fileno()).st_mode
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise UsageError(f"{path}: cannot read the accounts file: {error.strerror}") from None
    if not stat.S_ISREG(mode):
        raise UsageError(f"{path}: the accounts file is not a regular file")
    if mode & stat.S_IWOTH:
        raise UsageError(
            f"{path}: anyone may write to the accounts file, and so choose who logs in: "
            f"chmod o-w {path}"
        )
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"{path}: the accounts file is over {MAX_FILE_BYTES} bytes")
    lines = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append((number, raw.decode("utf-8").rstrip("\r")))
        except UnicodeDecodeError:
            raise UsageError(f"{path}:{number}: not UTF-8 text") from None
    if lines and lines[-1][1] == "":
        lines.pop()  # after the last newline
    return lines


def _write(path: Path, text: str) -> None:
    """Replace *path* with *text* in one step, readable and writable by its owner only."""
    folder = path.parent
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            Path(temporary).replace(path)  # mkstemp made it readable by its owner only
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise UsageError(f"{path}: cannot write the accounts file: {error.strerror}") from None
