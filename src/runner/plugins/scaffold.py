"""Write a new plugin package: ``python -m runner.plugins new NAME [--kinds cell,data,grad,optim]``.

The package is complete and works as written: a pyproject with the entry
point and the dependency on rnn-runner, a hook module with config dataclasses
(help text on every field), one real plugin per kind chosen (the minimal gated
unit, Zhou et al. 2016; the parity problem, Bengio et al. 1994; gradient
clipping per tensor; Signum, Bernstein et al. 2018), a README, and tests that run the contract kit and a tiny
training. The files are the ``*.tmpl`` templates in ``src/runner/plugins/template/``.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

import runner

_DISTRIBUTION = re.compile(r"^[A-Za-z][A-Za-z0-9]*([-_.][A-Za-z0-9]+)*$")


@dataclass(frozen=True)
class Kind:
    """What the template writes for one kind of plugin."""

    option: str  # what users type
    module: str  # the module next to the hook module, from <module>.py.tmpl
    what: str  # for the README
    small: tuple[str, ...]  # overrides that make the kit's checks and the training fast
    types: tuple[str, ...]  # what the hook module imports from runner to annotate the builder and the hook


KINDS = {
    "cell": Kind(
        "cell=mgu",
        "mgu",
        "the minimal gated unit (Zhou et al. 2016)",
        ("cell.hidden_size=8",),
        ("Cell", "RegisterCell"),
    ),
    "data": Kind(
        "data=parity",
        "parity",
        "the parity problem (Bengio, Simard & Frasconi 1994)",
        ("data.seq_len=12", "data.batch_size=4", "data.num_train=16", "data.num_val=8"),
        ("DataModule", "RegisterDataset"),
    ),
    "grad": Kind(
        "grad=clip_per_tensor",
        "clip_per_tensor",
        "gradient clipping per tensor",
        (),
        ("GradHandler", "RegisterGradHandler"),
    ),
    "optim": Kind(
        "optim=signum",
        "signum",
        "sign descent with momentum, Signum (Bernstein et al. 2018)",
        (),
        ("Optimizer", "RegisterOptimizer"),
    ),
}
# What the tiny training uses for a kind the package does not provide: built-ins.
STAND_INS = {
    "cell": ("cell=gru", "cell.hidden_size=8"),
    "data": ("data=adding", "data.seq_len=12", "data.batch_size=4", "data.num_train=16", "data.num_val=8"),
    "grad": (),
    "optim": (),
}


def _template(name: str) -> Template:
    return Template((resources.files("runner.plugins") / "template" / f"{name}.tmpl").read_text())


def _quoted(strings) -> str:
    return ", ".join(f'"{s}"' for s in strings)


def _package(name: str) -> str:
    """The import name of distribution ``name``: ``My-RNN.plugins`` -> ``my_rnn_plugins``."""
    return re.sub(r"[-.]", "_", name).lower()


def _values(name: str, kinds: list[str]) -> dict[str, str]:
    package = _package(name)
    chosen = [KINDS[k] for k in kinds]
    options = ", ".join(k.option for k in chosen)
    train = [(KINDS[k].option, *KINDS[k].small) if k in kinds else STAND_INS[k] for k in KINDS]
    train = [args for args in train if args]
    missing = [k for k in KINDS if k not in kinds and STAND_INS[k]]
    return {
        "name": name,
        "package": package,
        "entry_point": package,
        "options": options,
        "summary": "; ".join(k.what for k in chosen),
        "requirement": f"rnn-runner>={runner.__version__}",
        "imports": "from dataclasses import dataclass" + ("\n\nfrom omegaconf import II" if "data" in kinds else ""),
        "runner_imports": ", ".join([*sorted(t for k in chosen for t in k.types), "hookimpl"]),
        "table": "\n".join(f"| `{k.option}` | {k.what} | `src/{package}/{k.module}.py` |" for k in chosen),
        "example": " ".join(args[0] for args in train),  # the choices, not the sizes
        "first": chosen[0].option,
        "small": "".join(f"    {_quoted([k.option])}: [{_quoted(k.small)}],\n" for k in chosen),
        "checked": f"[{_quoted(sorted(k.option for k in chosen))}]",
        "train": "".join(f"    {_quoted(args)},\n" for args in train),
        "stand_ins": f", built-ins for the rest ({', '.join(STAND_INS[k][0] for k in missing)})" if missing else "",
        "kit": ", ".join(["check_cell", "check_plugins"] if "cell" in kinds else ["check_plugins"]),
    }


def write(name: str, kinds: list[str], where: Path) -> Path:
    """Write the package ``name`` with plugins of ``kinds`` into ``where/name``; return that folder."""
    if not _DISTRIBUTION.match(name):
        raise ValueError(f"{name!r} is not a valid distribution name (letters, digits, '-', '_', '.')")
    package = _package(name)
    if keyword.iskeyword(package) or importlib.util.find_spec(package) is not None:
        raise ValueError(f"the package would be named {package!r}, which Python already knows; choose another name")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"kinds must be among {', '.join(KINDS)}, got {', '.join(kinds) or 'none'}")
    kinds = [k for k in KINDS if k in kinds]  # the hooks in the order of the runner's groups
    folder = where / name
    if folder.exists():
        raise FileExistsError(f"{folder} exists already")
    values = _values(name, kinds)
    package = folder / "src" / values["package"]
    files = {
        folder / "pyproject.toml": _template("pyproject.toml").substitute(values),
        folder / "README.md": _template("README.md").substitute(values),
        package / "__init__.py": _template("__init__.py").substitute(
            values, hooks="".join(_template(f"{k}_hook.py").substitute(values) for k in kinds)
        ),
        folder / "tests" / "test_plugins.py": _template("test_plugins.py").substitute(
            values, tests="".join(_template(f"{k}_test.py").substitute(values) for k in kinds)
        ),
        **{package / f"{KINDS[k].module}.py": _template(f"{KINDS[k].module}.py").substitute(values) for k in kinds},
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.rstrip("\n") + "\n")
    return folder


def next_steps(folder: Path) -> str:
    """What to do with a package :func:`write` made."""
    return (
        f"wrote {folder}\n\n"
        f"  pip install -e {folder}      # next to the runner\n"
        f"  python -m runner.plugins     # lists its plugins\n"
        f"  cd {folder} && python -m pytest\n"
    )
