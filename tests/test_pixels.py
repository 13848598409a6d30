"""Sequential and permuted pixel MNIST (Le, Jaitly & Hinton 2015) and Fashion-MNIST (Xiao et al. 2017).

MNIST itself cannot be had here (no network), so its path is tested on small IDX files the
tests write, with the plugin's pins swapped for theirs; its download on a local HTTP server.
Fashion-MNIST is read from ``$RUNNER_DATA_DIR/fashion-mnist`` (a re-compressed copy: only the
content checksums match upstream) and trained on through the real entry point.
"""

import gzip
import hashlib
import http.server
import json
import struct
import threading
from pathlib import Path

import pytest
import torch

from conftest import DATA, runner
from runner import DataError, Source, data_folder, ensure_files
from runner_plugins.pixels import fetch
from runner_plugins.pixels.config import PixelConfig
from runner_plugins.pixels.datamodule import PixelData, permutation

IMAGES = 40  # of each fake split


def idx_bytes(array: torch.Tensor) -> bytes:
    """``array`` (uint8) in the IDX format: magic 0x0000 08 <rank>, the sizes big-endian, the bytes."""
    return struct.pack(f">BBBB{array.dim()}I", 0, 0, 0x08, array.dim(), *array.shape) + array.numpy().tobytes()


def write_fake_mnist(folder: Path, generator: torch.Generator) -> dict[str, str]:
    """Four small gzipped IDX files; the content SHA-256 of each, by role."""
    folder.mkdir(parents=True, exist_ok=True)
    digests = {}
    for split in ("train", "test"):
        images = torch.randint(0, 256, (IMAGES, 28, 28), dtype=torch.uint8, generator=generator)
        labels = torch.arange(IMAGES, dtype=torch.uint8) % 10
        for kind, array in (("images", images), ("labels", labels)):
            content = idx_bytes(array)
            (folder / fetch.FILES[f"{split}_{kind}"]).write_bytes(gzip.compress(content))
            digests[f"{split}_{kind}"] = hashlib.sha256(content).hexdigest()
    return digests


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch) -> Path:
    """A folder of fake MNIST files that the plugin's (swapped) pins accept."""
    folder = tmp_path / "mnist"
    digests = write_fake_mnist(folder, torch.Generator().manual_seed(0))
    sources = tuple(Source(fetch.FILES[role], f"http://127.0.0.1:9/{role}", d, "gzip") for role, d in digests.items())
    monkeypatch.setitem(fetch.SOURCES, "mnist", sources)
    return folder


def data(folder: Path, **options) -> PixelData:
    module = PixelData(PixelConfig(root=str(folder), num_val=10, batch_size=4, seed=0, **options), "mnist")
    module.prepare_data()
    module.setup("fit")
    return module


def test_a_pixel_a_step_scaled_to_one_and_the_class_at_the_end(fake_mnist):
    module = data(fake_mnist)
    x, y = module.splits["train"]
    assert x.shape == (IMAGES - 10, 784, 1) and y.shape == (IMAGES - 10,)
    assert x.dtype == torch.float32 and x.min() >= 0 and x.max() <= 1
    raw = gzip.decompress((fake_mnist / fetch.FILES["train_images"]).read_bytes())[16:]
    first = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(IMAGES, 784).float() / 255
    held_out = {int(i) for i in torch.randperm(IMAGES, generator=torch.Generator().manual_seed(0))[:10]}
    kept = [i for i in range(IMAGES) if i not in held_out]
    assert torch.equal(x[:, :, 0], first[kept])  # reading order, row by row
    task = module.task
    assert (task.inputs, task.input_size, task.targets, task.output_size) == ("real", 1, "classes", 10)
    assert task.loss_steps == "last" and task.metrics == ("accuracy",) and task.baseline["accuracy"] == 0.1
    assert task.has_test and module.splits["test"][0].shape == (IMAGES, 784, 1)


def test_rows_a_step(fake_mnist):
    x, _ = data(fake_mnist, pixels_per_step=28).splits["val"]
    flat, _ = data(fake_mnist).splits["val"]
    assert x.shape == (10, 28, 28)
    assert torch.equal(x.reshape(10, 784), flat.reshape(10, 784))


def test_the_permuted_task_reads_every_image_in_one_fixed_order_recorded_in_the_task(fake_mnist):
    plain, permuted = data(fake_mnist).splits["test"][0], data(fake_mnist, permute=True).splits["test"][0]
    order = permutation(0)
    assert sorted(order.tolist()) == list(range(784)) and not torch.equal(order, torch.arange(784))
    assert torch.equal(permuted[:, :, 0], plain[:, order, 0])  # the same order for every image
    assert data(fake_mnist, permute=True).task.details == {"permutation": order.tolist()}
    assert not torch.equal(permutation(1), order)
    assert data(fake_mnist).task.details == {}


def test_validation_is_the_same_images_whatever_the_run_seed(fake_mnist):
    a = PixelData(PixelConfig(root=str(fake_mnist), num_val=10, batch_size=4, seed=0), "mnist")
    b = PixelData(PixelConfig(root=str(fake_mnist), num_val=10, batch_size=4, seed=5), "mnist")
    for module in (a, b):
        module.setup("fit")
    assert torch.equal(a.splits["val"][0], b.splits["val"][0])
    orders = [[batch[1].tolist() for batch in module.train_dataloader()] for module in (a, b)]
    assert orders[0] != orders[1]  # the run's seed orders the training images


def test_a_copy_with_other_content_is_refused_and_the_message_says_where_to_put_the_files(fake_mnist):
    path = fake_mnist / fetch.FILES["test_labels"]
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-1] + b"\x07"))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz is not the expected file") as error:
        data(fake_mnist)
    assert "RUNNER_DATA_DIR" in str(error.value) and "gunzipped content" in str(error.value)


def test_a_file_that_is_not_idx_is_named(fake_mnist, monkeypatch):
    path = fake_mnist / fetch.FILES["train_labels"]
    content = b"\x01\x02\x03\x04 not idx"
    path.write_bytes(gzip.compress(content))
    roles = {s.filename: s for s in fetch.SOURCES["mnist"]}
    roles[path.name] = Source(path.name, "http://127.0.0.1:9/x", hashlib.sha256(content).hexdigest(), "gzip")
    monkeypatch.setitem(fetch.SOURCES, "mnist", tuple(roles.values()))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz is not an IDX file"):
        data(fake_mnist)


def test_the_download_keeps_the_gz_and_checks_its_content(tmp_path):
    """Served as gzip by a local server, re-compressed bytes with the same content are accepted as well."""
    content = idx_bytes(torch.arange(10, dtype=torch.uint8))
    bodies = {"/a.gz": gzip.compress(content, compresslevel=9), "/b.gz": gzip.compress(content, compresslevel=1)}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    digest = hashlib.sha256(content).hexdigest()
    try:
        for name in ("a.gz", "b.gz"):
            ensure_files("toy", [Source(name, f"{url}/{name}", digest, "gzip")], tmp_path)
            assert (tmp_path / name).read_bytes() == bodies[f"/{name}"]  # kept as downloaded
        with pytest.raises(DataError, match="its gunzipped content"):
            ensure_files("toy", [Source("c.gz", f"{url}/a.gz", "0" * 64, "gzip")], tmp_path)
        assert not (tmp_path / "c.gz").exists()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_fashion_mnist_here_passes_the_upstream_content_checksums():
    folder = data_folder("fashion-mnist")
    fetch.ensure("fashion-mnist", folder)
    sums = dict(line.split()[::-1] for line in (folder / "SHA256SUMS.uncompressed").read_text().splitlines())
    for source in fetch.SOURCES["fashion-mnist"]:
        assert sums[source.filename.removesuffix(".gz")] == source.sha256


def test_fashion_mnist_rows_train_and_test_through_the_entry_point(tmp_path):
    done = runner(
        "data=sfmnist",
        "data.pixels_per_step=28",
        "data.permute=true",
        "data.batch_size=50",
        "cell=exprnn",
        "cell.hidden_size=16",
        "trainer.max_steps=30",
        "trainer.val_check_interval=30",
        "trainer.limit_val_batches=4",
        "logger=csv",
        "hydra.run.dir=run",
        cwd=tmp_path,
        env={"RUNNER_DATA_DIR": str(DATA)},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads((tmp_path / "run" / "results.json").read_text())
    assert 0 <= record["test"]["accuracy"] <= 1 and record["baseline"]["accuracy"] == 0.1
    task = json.loads((tmp_path / "run" / "task.json").read_text())
    assert task["details"]["permutation"] == permutation(0).tolist() and task["input_size"] == 28
