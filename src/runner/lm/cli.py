"""Ask a trained language model (a run folder) for next words, sentence probabilities and samples.

    python -m runner.lm next RUN_DIR "the stock market" [--k 10]
    python -m runner.lm score RUN_DIR "the cat sat on the mat"
    python -m runner.lm sample RUN_DIR [--length 50] [--temperature 1.0] [--seed 0] [--prompt TEXT]

``--json`` prints one JSON object for scripts instead of the readable report.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from runner.lm.language_model import LanguageModel, NoModel


def positive(kind: type):
    def parse(text: str):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names it in "invalid int value"
    return parse


def shown(lm: LanguageModel, token: str) -> str:
    """A token as a table shows it: characters quoted, so that a newline or a space can be seen."""
    return repr(token) if lm.level == "char" else token


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m runner.lm", description=__doc__.splitlines()[0])
    commands = p.add_subparsers(dest="command", required=True)

    def command(name: str, help: str, text: str | None) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help)
        sub.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run folder of a language model")
        if text:
            sub.add_argument("text", help=text)
        sub.add_argument("--json", action="store_true", help="print JSON instead of the readable report")
        return sub

    command("next", "the likeliest next tokens after a line end and a prompt", "the prompt").add_argument(
        "--k", type=positive(int), default=10, help="how many (default 10)"
    )
    command("score", "a sentence's probability by the chain rule", "the sentence (one line of the corpus)")
    sample = command("sample", "sample text", None)
    sample.add_argument("--length", type=positive(int), default=50, help="tokens to sample (default 50)")
    sample.add_argument(
        "--temperature",
        type=positive(float),
        default=1.0,
        help="below 1: likelier tokens, above 1: more varied (default 1)",
    )
    sample.add_argument("--seed", type=int, help="for the same sample again (default: a fresh one, printed)")
    sample.add_argument("--prompt", default="", help="text to continue (default: the start of a line)")
    return p


def unknown_line(lm: LanguageModel, unknown: list[str]) -> list[str]:
    """``2 words not in the vocabulary, read as <unk>: zyzzyva, qux``; nothing when every token is known."""
    if not unknown:
        return []
    kind = "word" if lm.level == "word" else "character"
    names = ", ".join(shown(lm, t) for t in unknown)
    plural = "s" if len(unknown) > 1 else ""
    return [f"{len(unknown)} {kind}{plural} not in the vocabulary, read as {lm.task.unk}: {names}"]


def next_words(lm: LanguageModel, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    prompt, top, unknown = lm.next(args.text, args.k)
    record = {"prompt": prompt, "unknown": unknown, "next": [{"token": t, "p": p} for t, p in top]}
    width = max(len(shown(lm, t)) for t, _ in top)
    lines = [f"after a line end and {lm.render(prompt)!r}:" if prompt else "after a line end:"]
    lines += [f"{rank:>3}. {shown(lm, t):<{width}}  {p:.4f}" for rank, (t, p) in enumerate(top, 1)]
    return record, "\n".join([*lines, *unknown_line(lm, unknown)])


def score(lm: LanguageModel, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    s = lm.score(args.text)
    record = {
        "tokens": s.tokens,
        "log_probs": s.log_probs,
        "total_log_prob": s.total,
        "probability": math.exp(s.total),
        "perplexity": s.perplexity,
        "unknown": s.unknown,
    }
    tokens = [shown(lm, t) for t in s.tokens]
    width = max(len(t) for t in [*tokens, "token"])
    lines = [f"{'token':<{width}}  {'log p':>8}  {'p':>9}"]
    lines += [f"{t:<{width}}  {lp:8.3f}  {math.exp(lp):9.3g}" for t, lp in zip(tokens, s.log_probs, strict=True)]
    lines.append(f"log P(sentence) = {s.total:.3f}  (P = {math.exp(s.total):.3g}, natural log)")
    lines.append(f"perplexity {s.perplexity:.2f} over {len(s.tokens)} tokens, the first after a line end")
    return record, "\n".join([*lines, *unknown_line(lm, s.unknown)])


def sample(lm: LanguageModel, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    prompt, drawn, seed = lm.sample(args.length, args.temperature, args.seed, args.prompt)
    record = {
        "prompt": prompt,
        "tokens": drawn,
        "text": lm.render(drawn),
        "seed": seed,
        "temperature": args.temperature,
        "unknown": lm.unknown(lm.words(args.prompt)),
    }
    # the prompt as the model read it (unknown words as <unk>), then the sample
    lines = [lm.render([*prompt, *drawn]), f"(seed {seed}, temperature {args.temperature})"]
    return record, "\n".join([*lines, *unknown_line(lm, record["unknown"])])


COMMANDS = {"next": next_words, "score": score, "sample": sample}


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        lm = LanguageModel.load(args.run_dir)
    except NoModel as exc:
        print(f"runner.lm: error: {exc}", file=sys.stderr)
        sys.exit(2)
    record, report = COMMANDS[args.command](lm, args)
    print(json.dumps(record, indent=2) if args.json else report)
