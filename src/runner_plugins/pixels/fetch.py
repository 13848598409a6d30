"""The pinned sources of MNIST (LeCun et al. 1998) and Fashion-MNIST (Xiao, Rasul & Vollgraf 2017).

Each file is kept as the ``.gz`` downloaded and pinned by the SHA-256 of its
content (the IDX bytes), so that a copy compressed again, as Debian's
Fashion-MNIST package is, is accepted; the digests are those the upstream
files decompress to.
"""

from __future__ import annotations

from pathlib import Path

from runner import Source, ensure_files

_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # PyTorch's mirror: yann.lecun.com refuses scripts
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"  # the upstream README's links
FILES = {  # role -> file name, the same in both data sets
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
CONTENT_SHA256 = {
    "mnist": {
        "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}
BASE = {"mnist": _MNIST, "fashion-mnist": _FASHION}
SOURCES: dict[str, tuple[Source, ...]] = {
    name: tuple(Source(FILES[role], BASE[name] + FILES[role], digest, "gzip") for role, digest in digests.items())
    for name, digests in CONTENT_SHA256.items()
}


def ensure(name: str, folder: Path) -> Path:
    """Make sure ``folder`` holds the verified files of ``name``, downloading what is missing."""
    return ensure_files(name, SOURCES[name], folder, hint="set data.root to a folder holding them")
