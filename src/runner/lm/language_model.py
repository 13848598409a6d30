"""A finished run's language model: rebuilt from its run folder, asked for next words, scores and samples.

Text is read as the training data was, by the tokenization the data plugin
declared in the run's Task (``task.json``): a sentence is one line of the
corpus, ended by the Task's ``eos`` (``<eos>`` between words, the newline
between characters), and every query starts after a line end, with a zero
state, as a line of the corpus does. Any data plugin whose Task declares a
tokenization is served; the core knows no plugin.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import OmegaConf

from runner._config.job import JobConfig
from runner._config.schema import ModelConfig, ScheduleConfig
from runner._run_folder import run_dir
from runner.plugins import registry
from runner.task import Task

CHECKPOINTS = (run_dir.BEST, run_dir.LAST)  # in order of preference


class NoModel(Exception):
    """The folder holds no trained language model that can be loaded."""


@dataclass
class Scored:
    tokens: list[str]  # as the model read them: unknown words are <unk>
    log_probs: list[float]  # natural log of each token's probability given the ones before it

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

    # -- questions ------------------------------------------------------------------
    @torch.no_grad()
    def _read(self, ids: list[int], state=None) -> tuple[torch.Tensor, object]:
        """Log-probabilities of the next token after each of ``ids``, and the state after them."""
        logits, state = self.model(torch.tensor([ids]), state)
        return torch.log_softmax(logits[0].float(), dim=-1), state

    def next(self, prompt: str, k: int = 10) -> tuple[list[str], list[tuple[str, float]]]:
        """The prompt as read, and the ``k`` likeliest next tokens with their probabilities."""
        ids = self.ids(self.words(prompt))
        log_probs, _ = self._read([self.start, *ids])
        top = torch.topk(log_probs[-1].exp(), min(k, len(self.vocab)))
        return [self.vocab[i] for i in ids], [
            (self.vocab[i], float(p)) for p, i in zip(top.values, top.indices, strict=True)
        ]

    def score(self, text: str) -> Scored:
        """Each token's log-probability given the ones before it (the chain rule)."""
        ids = self.ids(self.line(text))
        log_probs, _ = self._read([self.start, *ids[:-1]])
        picked = log_probs.gather(1, torch.tensor(ids)[:, None])[:, 0]
        return Scored([self.vocab[i] for i in ids], [float(p) for p in picked])

    def sample(
        self, length: int, temperature: float = 1.0, seed: int | None = None, prompt: str = ""
    ) -> tuple[list[str], list[str], int]:
        """The prompt as read, ``length`` sampled tokens after it, and the seed that reproduces them."""
        seed = random.randrange(2**31) if seed is None else seed
        generator = torch.Generator().manual_seed(seed)
        ids = self.ids(self.words(prompt))
        log_probs, state = self._read([self.start, *ids])
        drawn: list[int] = []
        for _ in range(length):
            probs = torch.softmax(log_probs[-1] / temperature, dim=-1)
            drawn.append(int(torch.multinomial(probs, 1, generator=generator)))
            log_probs, state = self._read(drawn[-1:], state)
        return [self.vocab[i] for i in ids], [self.vocab[i] for i in drawn], seed
