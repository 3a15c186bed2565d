"""Private keys kept on disk, written once: every process of one machine must sign with the
same key, so the first to need it writes the file atomically and the others read it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def pem_at(path: str, make: Callable[[], bytes]) -> bytes:
    """The PEM at `path`; made by `make` and written (mode 0600) when there is none yet."""
    file = Path(path)
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}-")
        try:
            os.write(fd, make())
            os.close(fd)
            os.chmod(tmp, 0o600)
            with contextlib.suppress(FileExistsError):  # another process won the race
                os.link(tmp, file)
        finally:
            os.unlink(tmp)
    return file.read_bytes()
