"""A finished run's language model: rebuilt from its run folder, asked for next words, scores and samples.

Text is read as the training data was, by the tokenization the data plugin
declared in the run's Task (``task.json``): a sentence is one line of the
corpus, ended by the Task's ``eos`` (``<eos>`` between words, the newline
between characters), and every query starts after a line end. Any data plugin
whose Task declares a tokenization is served; the core knows no plugin.

After a line end, not after a zero state: a model trained with its state
carried from window to window (truncated BPTT, as the text plugins train)
almost never saw a zero state, and predicts nearly uniformly from it. So a
query is conditioned on the line end by the model's own text: :data:`CONTEXTS`
passages the model writes (seeded, the same for every query), each read up
to one of its line ends, and every probability is the mixture over them,
p(x | line end) = mean_k p(x | passage_k), the posterior-weighted one
token by token (the chain rule holds: ``score``'s factors are ``next``'s).
"""

from __future__ import annotations

import functools
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from runner._config.job import JobConfig
from runner._config.schema import ModelConfig, ScheduleConfig
from runner._run_folder import run_dir
from runner.plugins import registry
from runner.task import Task

CHECKPOINTS = (run_dir.BEST, run_dir.LAST)  # in order of preference
CONTEXTS = 64  # passages of the model's own text whose line ends a query starts after
WRITTEN = 256  # tokens the model writes for each passage
READ_IN = 64  # at least this many tokens of a passage read before its line end: the zero state forgotten
CONTEXT_SEED = 0  # the passages' seed: every query starts after the same line ends


class NoModel(Exception):
    """The folder holds no trained language model that can be loaded."""


@dataclass
class Scored:
    tokens: list[str]  # as the model read them: unknown words are <unk>
    log_probs: list[float]  # natural log of each token's probability given the line end and the ones before it
    unknown: list[str]  # the words (characters) of the text that are not in the vocabulary, read as <unk>

    @property
    def total(self) -> float:
        return sum(self.log_probs)

    @property
    def perplexity(self) -> float:
        return math.exp(-self.total / len(self.tokens))


def saved_config(folder: Path) -> JobConfig:
    """The run's composed config, its model nodes typed by their schemas again, with its group choices."""
    cfg, choices = run_dir.saved_config(folder), run_dir.choices(folder)
    plugins = registry.load()
    try:
        schemas = {
            "cell": plugins.get("cell", choices["cell"]).config_class,
            "grad": plugins.get("grad", choices["grad"]).config_class,
            "model": ModelConfig,
            "optim": plugins.get("optim", choices["optim"]).config_class,
            "schedule": ScheduleConfig,
        }
    except KeyError as exc:  # the plugin that trained it is not installed here
        raise NoModel(f"{folder}: {exc.args[0]}") from None
    for key, schema in schemas.items():
        cfg[key] = OmegaConf.merge(OmegaConf.structured(schema), cfg[key])
    return JobConfig(cfg, choices)


def draw(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One token per row of ``probs`` ``(B, V)``, each row a distribution: ``(B, 1)``.

    Drawn by inverting the cumulative distribution at a uniform number, not by ``torch.multinomial``,
    whose CPU kernel takes about 15 ms for 64 rows of a 10,000-word vocabulary, 30 times as long.
    """
    cdf = probs.cumsum(-1)
    u = torch.rand(len(probs), 1, generator=generator, dtype=cdf.dtype) * cdf[:, -1:]
    # right=True skips tokens of probability 0, whose cdf equals the one before; the clamp, rounding at the end
    return torch.searchsorted(cdf, u, right=True).clamp_(max=probs.shape[-1] - 1)


class LanguageModel:
    """A trained model with the Task it was trained on, which says how to read text."""

    def __init__(self, model: torch.nn.Module, task: Task):
        self.model, self.task, self.vocab = model.eval(), task, list(task.vocab)
        self.index = {token: i for i, token in enumerate(self.vocab)}
        self.start = self.index[task.eos]  # every line of the corpus follows a line end

    @property
    def level(self) -> str:
        """``word`` or ``char``: the Task's tokenization."""
        return self.task.tokenization

    @classmethod
    def load(cls, folder: Path) -> LanguageModel:
        """The run's best checkpoint (else its last) in the model its config describes."""
        from runner._train.run import build_model

        folder = Path(folder)
        if not (folder / run_dir.CONFIG).is_file():
            raise NoModel(f"{folder} is not a run folder (no {run_dir.CONFIG})")
        task = run_dir.read_task(folder)
        if task is None:
            raise NoModel(f"{folder} holds no {run_dir.TASK}: trained by an older runner, or not started")
        if task.tokenization is None:
            raise NoModel(
                f"{folder} holds no language model (its data plugin declares no tokenization in {run_dir.TASK})"
            )
        checkpoint = next((folder / c for c in CHECKPOINTS if (folder / c).is_file()), None)
        if checkpoint is None:
            raise NoModel(f"{folder} holds no trained model yet (no {run_dir.BEST} or {run_dir.LAST.name})")
        model = build_model(saved_config(folder), task)
        try:
            weights = run_dir.load_checkpoint(checkpoint)["state_dict"]
        except (run_dir.RunFolderError, KeyError) as exc:
            raise NoModel(
                f"{checkpoint} is not a readable checkpoint ({type(exc).__name__}: damaged, "
                "or not written by the runner)"
            ) from None
        # buffers such as the clipping statistics say how training went, not what the model computes,
        # and checkpoints of older versions lack them
        missing, unexpected = model.load_state_dict(weights, strict=False)
        buffers = {name for name, _ in model.named_buffers()}
        if unexpected or set(missing) - buffers:
            raise NoModel(
                f"{checkpoint} does not fit the model of {folder / run_dir.CONFIG} "
                f"(missing {sorted(set(missing) - buffers)[:3]}, unexpected {unexpected[:3]})"
            )
        return cls(model, task)

    # -- text <-> ids -------------------------------------------------------------
    def words(self, text: str) -> list[str]:
        """A prompt's tokens, not ended."""
        return text.split() if self.level == "word" else list(text)

    def line(self, text: str) -> list[str]:
        """A sentence's tokens, ended as a line of the corpus."""
        return self.task.tokenize(text.rstrip("\n") + "\n")

    def ids(self, tokens: list[str]) -> list[int]:
        unk = self.index.get(self.task.unk)
        return [self.index.get(t, unk) for t in tokens]

    def render(self, tokens: list[str]) -> str:
        if self.level == "char":
            return "".join(tokens)
        return re.sub(rf" ?{re.escape(self.task.eos)} ?", "\n", " ".join(tokens))

    def unknown(self, tokens: list[str]) -> list[str]:
        """The tokens of a text that the vocabulary lacks, in order: the model reads them as the Task's ``unk``."""
        return [t for t in tokens if t not in self.index]

    # -- questions ------------------------------------------------------------------
    @functools.cached_property
    def _line_ends(self) -> tuple[torch.Tensor, Any]:
        """Log-probabilities of the first token after each of :data:`CONTEXTS` line ends, ``(CONTEXTS, V)``, and
        the state there.

        The model writes :data:`CONTEXTS` passages of :data:`WRITTEN` tokens from a zero state after ``eos``;
        each is cut at its last line end and all are read again from a zero state in one batch, ending at
        those line ends, as long as the shortest (at least :data:`READ_IN` tokens). A model that ends no passage
        with a line end that late is asked from the zero state after ``eos``, the only line end it gave.
        """
        generator = torch.Generator().manual_seed(CONTEXT_SEED)
        written = torch.full((CONTEXTS, 1), self.start)
        state = None
        with torch.no_grad():
            for _ in range(WRITTEN):
                logits, state = self.model(written[:, -1:], state)
                drawn = draw(torch.softmax(logits[:, -1].float(), -1), generator)
                written = torch.cat([written, drawn], 1)
        ends = [max(i for i, t in enumerate(row) if t == self.start) for row in written.tolist()]
        kept = [(row, end) for row, end in zip(written.tolist(), ends, strict=True) if end >= READ_IN]
        if not kept:
            return self._read_from([self.start], None, batch=1)
        length = min(end for _, end in kept) + 1
        passages = [row[end + 1 - length : end + 1] for row, end in kept]
        logits, state = self._forward(torch.tensor(passages), None)
        return logits[:, -1], state

    @torch.no_grad()
    def _forward(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        logits, state = self.model(ids, state)
        return torch.log_softmax(logits.float(), dim=-1), state

    def _read_from(self, ids: list[int], state: Any, batch: int) -> tuple[torch.Tensor, Any]:
        """Log-probabilities after the last of ``ids`` in each of ``batch`` contexts, and the states after them."""
        log_probs, state = self._forward(torch.tensor([ids] * batch), state)
        return log_probs[:, -1], state

    def _read(self, ids: list[int]) -> tuple[torch.Tensor, Any]:
        """``(CONTEXTS, len(ids) + 1, V)``: per line end k, log p(next | line end k, ids[:t]) for every t; and the
        states after ``ids``."""
        first, state = self._line_ends
        if not ids:
            return first[:, None], state
        log_probs, state = self._forward(torch.tensor([ids] * len(first)), state)
        return torch.cat([first[:, None], log_probs], 1), state

    @staticmethod
    def _mixture(log_probs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """log sum_k w_k p_k(next) / sum_k w_k: the next token's log-probabilities given the line end and the text
        so far, ``weights`` the log-probability of that text after each line end (``(K,)``)."""
        return torch.logsumexp(weights[:, None] + log_probs, 0) - torch.logsumexp(weights, 0)

    def next(self, prompt: str, k: int = 10) -> tuple[list[str], list[tuple[str, float]], list[str]]:
        """The prompt as read, the ``k`` likeliest next tokens with their probabilities, and the prompt's unknown
        tokens."""
        words = self.words(prompt)
        ids = self.ids(words)
        log_probs, _ = self._read(ids)
        weights = self._picked(log_probs, ids).sum(1)
        top = torch.topk(self._mixture(log_probs[:, -1], weights).exp(), min(k, len(self.vocab)))
        best = [(self.vocab[i], float(p)) for p, i in zip(top.values, top.indices, strict=True)]
        return [self.vocab[i] for i in ids], best, self.unknown(words)

    @staticmethod
    def _picked(log_probs: torch.Tensor, ids: list[int]) -> torch.Tensor:
        """``(K, len(ids))``: each of ``ids``' log-probability after each line end and the ones before it."""
        index = torch.tensor(ids, dtype=torch.long).expand(len(log_probs), -1)
        return log_probs[:, : len(ids)].gather(2, index[..., None])[..., 0]

    def score(self, text: str) -> Scored:
        """Each token's log-probability given the line end and the ones before it (the chain rule)."""
        tokens = self.line(text)
        ids = self.ids(tokens)
        log_probs, _ = self._read(ids[:-1])
        picked = self._picked(log_probs, ids)
        before = torch.cat([torch.zeros(len(picked), 1), picked.cumsum(1)[:, :-1]], 1)  # log p(text so far)_k
        factors = [float(self._mixture(log_probs[:, t], before[:, t])[i]) for t, i in enumerate(ids)]
        return Scored([self.vocab[i] for i in ids], factors, self.unknown(tokens))

    def sample(
        self, length: int, temperature: float = 1.0, seed: int | None = None, prompt: str = ""
    ) -> tuple[list[str], list[str], int]:
        """The prompt as read, ``length`` sampled tokens after it, and the seed that reproduces them."""
        seed = random.randrange(2**31) if seed is None else seed
        generator = torch.Generator().manual_seed(seed)
        ids = self.ids(self.words(prompt))
        log_probs, state = self._read(ids)
        weights = self._picked(log_probs, ids).sum(1)
        last = log_probs[:, -1]
        drawn: list[int] = []
        for _ in range(length):
            probs = torch.softmax(self._mixture(last, weights) / temperature, dim=-1)
            drawn.append(int(draw(probs[None], generator)))
            weights = weights + last[:, drawn[-1]]
            last, state = self._read_from(drawn[-1:], state, batch=len(weights))
        return [self.vocab[i] for i in ids], [self.vocab[i] for i in drawn], seed
