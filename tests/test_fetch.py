"""Getting a corpus: the data folder, downloads verified against SHA-256, and the message when offline.

The helpers are the runner's public ones (runner.data_folder, runner.download, runner.ensure_files), what
any data plugin uses; the pinned corpora and their ensure are the text plugin's (runner_plugins.text.fetch).

Downloads go to a local HTTP server on 127.0.0.1: the tests never use the network.
"""

import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

import runner
from runner import DataError, Source
from runner_plugins.text import fetch

BODY = b"the quick brown fox\njumps over the lazy dog\n" * 200
SHA = hashlib.sha256(BODY).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    """/good: the file; /truncated: a Content-Length larger than the bytes sent; /cut: the connection
    closes half way with no length announced; /corrupted: as many bytes, but not the same ones."""

    def do_GET(self) -> None:
        name = self.path.strip("/")
        if name not in ("good", "truncated", "cut", "corrupted"):
            self.send_error(404)
            return
        body = {
            "good": BODY,
            "truncated": BODY[:100],
            "cut": BODY[: len(BODY) // 2],
            "corrupted": BODY.replace(b"fox", b"cat"),
        }[name]
        self.send_response(200)
        if name != "cut":
            self.send_header("Content-Length", str(len(BODY) if name == "truncated" else len(body)))
        self.end_headers()
        self.wfile.write(body)  # HTTP/1.0: the connection closes after the response

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def closed_port() -> str:
    """A URL on which nothing listens: the machine without network, as far as a download can tell."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_good_download_lands_with_the_right_hash(tmp_path, server):
    dest = tmp_path / "corpus" / "train.txt"
    runner.download(f"{server}/good", dest, SHA)
    assert dest.read_bytes() == BODY
    assert runner.sha256(dest) == SHA
    assert sorted(p.name for p in dest.parent.iterdir()) == ["train.txt"]  # no temporary file left


@pytest.mark.parametrize(
    "name,words",
    [
        ("truncated", ["cut short", "100 of"]),
        ("cut", ["has SHA-256", f"expected {SHA}"]),
        ("corrupted", ["has SHA-256", f"expected {SHA}"]),
        ("missing", ["404"]),
    ],
)
def test_bad_download_raises_and_leaves_no_file(tmp_path, server, name, words):
    dest = tmp_path / "corpus" / "train.txt"
    with pytest.raises(DataError) as error:
        runner.download(f"{server}/{name}", dest, SHA)
    for word in words:
        assert word in str(error.value)
    assert list(dest.parent.iterdir()) == []  # neither the file nor a partial one


def test_ensure_downloads_what_is_missing_and_keeps_what_is_there(tmp_path, server, closed_port, monkeypatch):
    monkeypatch.setitem(fetch.SOURCES, "toy", (Source("a.txt", f"{server}/good", SHA),))
    assert fetch.ensure("toy", tmp_path) == tmp_path
    assert runner.sha256(tmp_path / "a.txt") == SHA
    # a verified file is used as it is: no download is tried
    monkeypatch.setitem(fetch.SOURCES, "toy", (Source("a.txt", f"{closed_port}/a.txt", SHA),))
    fetch.ensure("toy", tmp_path)


def test_ensure_refuses_a_file_with_the_wrong_bytes(tmp_path, closed_port, monkeypatch):
    monkeypatch.setitem(fetch.SOURCES, "toy", (Source("a.txt", f"{closed_port}/a.txt", SHA),))
    (tmp_path / "a.txt").write_bytes(BODY[:-1])
    with pytest.raises(DataError, match=r"a\.txt is not the expected file \(SHA-256 mismatch\)"):
        fetch.ensure("toy", tmp_path)


def test_ensure_without_network_says_which_files_to_put_where(tmp_path, closed_port, monkeypatch):
    ptb = tuple(Source(s.filename, f"{closed_port}/{s.filename}", s.sha256) for s in fetch.SOURCES["ptb"])
    monkeypatch.setitem(fetch.SOURCES, "ptb", ptb)
    folder = tmp_path / "ptb"
    with pytest.raises(DataError) as error:
        fetch.ensure("ptb", folder)
    message = str(error.value)
    files = ", ".join(f"{s.filename} (SHA-256 {s.sha256})" for s in ptb)
    for words in (
        "ptb.train.txt is missing and could not be downloaded",
        "Connection refused",
        f"Put {files} in {folder}",
        "RUNNER_DATA_DIR to a folder holding ptb/",
        "data.root",
    ):
        assert words in message, message
    assert not any(folder.iterdir())


def test_the_data_folder_is_runner_data_dir_else_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNER_DATA_DIR", str(tmp_path / "data"))
    assert runner.data_folder("ptb") == tmp_path / "data" / "ptb"
    monkeypatch.delenv("RUNNER_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert runner.data_folder("ptb") == tmp_path / "cache" / "runner" / "data" / "ptb"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert runner.data_folder("tinyshakespeare") == Path.home() / ".cache" / "runner" / "data" / "tinyshakespeare"


def test_the_pinned_hashes_are_those_of_the_local_copy():
    from conftest import DATA

    for name, sources in fetch.SOURCES.items():
        for source in sources:
            assert runner.sha256(DATA / name / source.filename) == source.sha256
