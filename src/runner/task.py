"""What a dataset tells the runner about its task, so that the model is generic.

The runner builds ``input encoder -> cell -> output head`` and its loss from a
:class:`Task`: an embedding for tokens (a pass-through for real features), a
linear head of ``output_size``, cross-entropy for classes or mean squared
error for reals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

METRICS = ("mse", "accuracy", "ppl")
# the best score each metric (and the loss) can take: the sweep report's default target is halfway to it
PERFECT = {"loss": 0.0, "mse": 0.0, "accuracy": 1.0, "ppl": 1.0}
TOKENIZATIONS = ("word", "char")


@dataclass(frozen=True)
class Task:
    """A dataset's description of its task.

    :ivar inputs: ``"tokens"`` (batch, time) int64 ids below ``input_size``, or
        ``"real"`` (batch, time, input_size) floats.
    :ivar targets: ``"classes"`` (ids below ``output_size``, ``-100`` = no loss at
        that step) or ``"real"`` (floats, ``output_size`` per target).
    :ivar loss_steps: ``"all"``: targets are (batch, time) and every step carries
        loss; ``"last"``: targets are (batch,) or (batch, output_size) and only
        the last step carries loss.
    :ivar metrics: reported besides ``loss``, from :data:`METRICS`. ``ppl`` is
        ``exp(loss)``; ``accuracy`` counts the argmax over the last
        ``score_last`` steps (all loss steps when ``None``).
    :ivar baseline: the score of a memoryless predictor per metric name, reported
        next to the result (``{"loss": 0.167}``).
    :ivar monitor: the validation metric that says how well a run did.
    :ivar carry_state: batches are consecutive windows of parallel streams; the
        hidden state flows from one window to the next within an epoch.
    :ivar has_test: the data module has a ``test_dataloader``.
    :ivar vocab: id -> token, for language models.
    :ivar tokenization: how text becomes tokens, for tools that read new text the
        way the corpus was read (``runner.lm``): ``"word"``, whitespace-separated
        words with ``eos`` ending every line, or ``"char"``, every character
        (the newline among them); None for data that is not text.
    :ivar eos: the token that ends a line: ``"<eos>"`` for words, ``"\\n"`` for
        characters. A model reads every line as if after one.
    :ivar unk: the token that stands for anything not in ``vocab``.
    :ivar details: what else fixes the data, for the record (numbers, strings and
        lists or dicts of them): written into the run's ``task.json``, read by no
        one else (the permuted pixel task's permutation).
    """

    inputs: Literal["tokens", "real"]
    input_size: int
    targets: Literal["classes", "real"]
    output_size: int
    loss_steps: Literal["all", "last"] = "all"
    metrics: tuple[str, ...] = ()
    score_last: int | None = None
    baseline: dict[str, float] = field(default_factory=dict)
    monitor: str = "loss"
    monitor_mode: Literal["min", "max"] = "min"
    carry_state: bool = False
    has_test: bool = False
    vocab: tuple[str, ...] | None = None
    tokenization: Literal["word", "char"] | None = None
    eos: str | None = None
    unk: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.metrics) - set(METRICS)
        if unknown:
            raise ValueError(f"unknown metrics {sorted(unknown)}; known: {list(METRICS)}")
        if self.monitor not in ("loss", *self.metrics):
            raise ValueError(f"monitor {self.monitor!r} is not among the task's metrics")
        if self.tokenization is not None:
            if self.tokenization not in TOKENIZATIONS:
                raise ValueError(f"tokenization {self.tokenization!r} is not one of {list(TOKENIZATIONS)}")
            if self.vocab is None or self.eos not in self.vocab:
                raise ValueError("a task with a tokenization needs a vocab that holds its eos token")

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` read as the corpus was read."""
        return tokenize(text, self.tokenization, self.eos)


def tokenize(text: str, tokenization: str, eos: str) -> list[str]:
    """Words with ``eos`` ending every line, or every character (``eos`` is the newline then)."""
    if tokenization == "char":
        return list(text)
    return [token for line in text.splitlines() for token in (*line.split(), eos)]
