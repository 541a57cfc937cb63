"""Reading submission files safely, and naming them in outputs whatever bytes their names hold.

Submissions arrive as folders unpacked from archives or cloned from repositories, so a
"notebook" may be a symbolic link (to the master, to a root-only file), a named pipe, a
device, or sit under a folder whose name is not valid UTF-8. The grader

* opens a submission only if it is a regular file, without following a link in its last
  component and without blocking (``O_NOFOLLOW | O_NONBLOCK``), then checks the type of what
  it opened (:func:`read_regular`); the error names the file type, never the file's content;
* writes names that are not valid UTF-8 in an escaped, reversible form (:func:`display_name`,
  reversed by :func:`name_bytes`): ``\\xff`` for an undecodable byte, ``\\\\`` for a backslash.
"""

from __future__ import annotations

import errno
import os
import re
import stat

MAX_NOTEBOOK_BYTES = 200_000_000  # a submission larger than this is not read

_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link",
}


class NotARegularFile(OSError):
    """The submission is not a regular file (a link, pipe, device, folder…) or is too large."""


def read_regular(path, limit: int = MAX_NOTEBOOK_BYTES) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes.

    Raises:
        NotARegularFile: ``path`` is a symbolic link (not followed), a named pipe, a device, a
            folder or a socket, or is larger than ``limit``; the message says which, and how to
            submit instead.
        OSError: it cannot be opened (missing, no permission).
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise NotARegularFile(
                "the submission is a symbolic link, which the grader does not follow: "
                "submit the notebook file itself"
            ) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            raise NotARegularFile(
                f"the submission is {kind}, not a notebook file: submit the .ipynb file itself"
            )
        if info.st_size > limit:
            raise NotARegularFile(
                f"the submission is {info.st_size:,d} bytes, more than the {limit:,d} a notebook "
                "may have: clear its outputs and submit again"
            )
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise NotARegularFile(f"the submission grew past {limit:,d} bytes while being read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def is_regular(path) -> bool:
    """True when ``path`` itself (not a link's target) is a regular file."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def display_name(path) -> tuple[str, bool]:
    """``(text, escaped)``: ``path`` as printable text for CSV, JSON and feedback files.

    A name that is valid UTF-8 is returned as it is (``escaped`` False). Otherwise every
    backslash becomes ``\\\\`` and every byte that is not part of valid UTF-8 becomes ``\\xNN``
    (``escaped`` True); :func:`name_bytes` gives the original bytes back.
    """
    raw = os.fsencode(path)
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace"), True


def name_bytes(text: str) -> bytes:
    """The original bytes of a name escaped by :func:`display_name` (escaped names only)."""
    return re.sub(
        rb"\\\\|\\x([0-9a-f]{2})",
        lambda m: bytes([int(m.group(1), 16)]) if m.group(1) else b"\\",
        text.encode("utf-8"),
    )
