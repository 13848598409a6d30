"""Files a data plugin needs: where they live, and a checksum-verified download that never leaves a partial file.

A plugin names its files as :class:`Source` (file name, URL, SHA-256) and, in
its data module's ``prepare_data``, calls :func:`ensure_files` on the folder
:func:`data_folder` gives (or one its config names). A file already there is
used if its bytes are the expected ones; a missing one is downloaded; without
network the :class:`DataError` says which files to put where. Re-exported by
:mod:`runner`: import them from there.

The modules for files and the network are imported by the functions that use
them, so that ``import runner`` (``python -m runner --help``) does not pay for them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

DATA_DIR_ENV = "RUNNER_DATA_DIR"


class DataError(RuntimeError):
    """Data that is missing, unreadable or not the expected bytes."""


COMPRESSIONS = (None, "gzip")


@dataclass(frozen=True)
class Source:
    """One file of a data set: its name in the data folder, where to download it, and its SHA-256.

    With ``compression="gzip"`` the file is kept as downloaded (``.gz``) and
    ``sha256`` is that of its content after gunzip: a copy compressed again by
    someone else (other bytes, the same data) is accepted, as it should be.
    """

    filename: str
    url: str
    sha256: str
    compression: str | None = None

    def __post_init__(self) -> None:
        if self.compression not in COMPRESSIONS:
            raise ValueError(f"Source {self.filename}: compression {self.compression!r} is not one of {COMPRESSIONS}")


def data_folder(name: str) -> Path:
    """The folder of data set ``name``: ``$RUNNER_DATA_DIR/<name>`` when set, else the per-user cache.

    The cache is ``$XDG_CACHE_HOME/runner/data/<name>``, ``~/.cache/runner/data/<name>`` by default.
    """
    from pathlib import Path

    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]) / name
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "runner" / "data" / name


def sha256(path: Path, compression: str | None = None) -> str:
    """The SHA-256 of the file at ``path`` (of its gunzipped content with ``compression="gzip"``), as hex digits.

    A ``.gz`` file that is not gzip, or is cut short, raises :class:`DataError`.
    """
    import gzip
    import hashlib
    import zlib

    digest = hashlib.sha256()
    opener = gzip.open if compression == "gzip" else open
    try:
        with opener(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"{path} is not a whole gzip file ({type(exc).__name__}: {exc})") from exc
    return digest.hexdigest()


def download(url: str, dest: Path, expected_sha256: str, timeout: float = 60, compression: str | None = None) -> None:
    """Fetch ``url`` into ``dest`` only if its bytes have the expected SHA-256; :class:`DataError` if not.

    With ``compression="gzip"`` the SHA-256 checked is that of the gunzipped
    content, and ``dest`` keeps the compressed bytes. The bytes go to a
    temporary file beside ``dest`` and are renamed into place after the check,
    so an interruption never leaves a partial file.
    """
    import http.client
    import tempfile
    import urllib.request
    from pathlib import Path

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                expected_size = response.headers.get("Content-Length")
                while block := response.read(1 << 20):
                    out.write(block)
        except (OSError, http.client.HTTPException) as exc:  # no network, HTTP errors, a connection cut
            raise DataError(f"download of {url} failed ({type(exc).__name__}: {exc})") from exc
        if expected_size is not None and os.path.getsize(tmp) != int(expected_size):
            raise DataError(f"download of {url} was cut short ({os.path.getsize(tmp)} of {expected_size} bytes)")
        got = sha256(Path(tmp), compression)
        if got != expected_sha256:
            content = " (its gunzipped content)" if compression else ""
            raise DataError(f"{url}{content} has SHA-256 {got}, expected {expected_sha256}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def ensure_files(name: str, sources: Sequence[Source], folder: Path, *, hint: str | None = None) -> Path:
    """Make sure ``folder`` holds the verified ``sources`` of data set ``name``, downloading what is missing.

    Returns ``folder``. A file there with other bytes, or a missing one that
    cannot be downloaded, raises :class:`DataError` saying which files to put
    where: in ``folder``, or in ``name/`` under ``$RUNNER_DATA_DIR``, or as
    ``hint`` says (another way the plugin offers, such as its config's folder:
    ``"set data.root to a folder holding them"``).
    """
    for source in sources:
        path = folder / source.filename
        if path.exists():
            if sha256(path, source.compression) != source.sha256:
                raise DataError(
                    f"{path} is not the expected file (SHA-256 mismatch). {_where(name, sources, folder, hint)}"
                )
            continue
        try:
            download(source.url, path, source.sha256, compression=source.compression)
        except (OSError, DataError) as exc:
            raise DataError(
                f"{path} is missing and could not be downloaded: {exc}. {_where(name, sources, folder, hint)}"
            ) from exc
    return folder


_OF_CONTENT = " of its gunzipped content"


def _where(name: str, sources: Sequence[Source], folder: Path, hint: str | None) -> str:
    """Which files to put where, for a user without network."""
    files = ", ".join(f"{s.filename} (SHA-256 {s.sha256}{_OF_CONTENT if s.compression else ''})" for s in sources)
    also = f", or {hint}" if hint else ""
    return f"Put {files} in {folder}, or set {DATA_DIR_ENV} to a folder holding {name}/ with them{also}."
