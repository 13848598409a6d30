"""Every installed plugin passes the contract kit (runner.testing), and the kit rejects broken ones."""

from __future__ import annotations

import dataclasses
import random
import subprocess
import sys
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import DATA
from runner import testing
from runner.plugins import registry
from runner.plugins.registry import Failure, Origin, Plugin, Registry
from runner.task import Task
from runner.testing import ContractError

INSTALLED = registry.load()
# Tiny sizes for whichever of these fields a plugin's config has, so that any plugin checks fast.
SMALL = {"hidden_size": 4, "seq_len": 10, "batch_size": 4, "num_train": 16, "num_val": 8, "bptt": 5}
EXTRA = {
    "text": [
        f"data.root={DATA / 'ptb'}",
        "data.train=ptb.valid.txt",
        "data.valid=ptb.test.txt",
        "data.test=ptb.test.txt",
    ],
    "smnist": ["data.pixels_per_step=28"],
    "sfmnist": ["data.pixels_per_step=28"],
}
# Data sets whose files cannot be had here (no network, no package ships MNIST): checked where present.
FILES = {"smnist": DATA / "mnist"}


def small(kind: str, name: str) -> list[str]:
    names = {f.name for f in dataclasses.fields(INSTALLED.get(kind, name).config_class)}
    return [f"{kind}.{k}={v}" for k, v in SMALL.items() if k in names] + EXTRA.get(name, [])


def cell_cases() -> list[tuple[str, list[str]]]:
    cases = []
    for name, plugin in sorted(INSTALLED.plugins["cell"].items()):
        fields = {f.name for f in dataclasses.fields(plugin.config_class)}
        cases.append((name, small("cell", name)))
        if "num_layers" in fields:
            cases.append((name, [*small("cell", name), "cell.num_layers=2"]))
        if "impl" in fields:
            cases.append((name, [*small("cell", name), "cell.impl=reference", "cell.num_layers=2"]))
    return cases


@pytest.fixture
def data_dir(monkeypatch):
    monkeypatch.setenv("RUNNER_DATA_DIR", str(DATA))


@pytest.mark.parametrize("name,overrides", cell_cases(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_every_cell_keeps_the_contract(name, overrides):
    cell = testing.check_cell(name, overrides)
    assert cell.output_size == 4


@pytest.mark.parametrize("name", sorted(INSTALLED.plugins["data"]))
def test_every_dataset_keeps_the_contract(name, data_dir):
    if name in FILES and not FILES[name].is_dir():
        pytest.skip(
            f"data={name} needs its files in {FILES[name]}, which this machine lacks (test_pixels.py fakes them)"
        )
    assert isinstance(testing.check_dataset(name, small("data", name)), Task)


@pytest.mark.parametrize("name", sorted(INSTALLED.plugins["grad"]))
def test_every_grad_handler_keeps_the_contract(name):
    answers = testing.check_grad_handler(name)
    # clipping changes only huge gradients; noise changes every gradient but the huge ones, below whose
    # float32 precision it lies (the kit's gradients of 1e8 have a spacing of 8)
    tiny, huge = {"none": (False, False), "noise": (True, False)}.get(name, (False, True))
    assert (answers[1e-8], answers[1e8]) == (tiny, huge)


def test_config_comes_back_typed_with_the_overrides_and_its_checks():
    config = testing.check_config("cell", "gru", ["cell.hidden_size=7", "cell.impl=reference"])
    assert (config.hidden_size, config.impl.value) == (7, "reference")
    with pytest.raises(
        ContractError,
        match=r"cell=gru: the config rejects \['cell.hidden_size=0'\]: ValueError: "
        "cell.hidden_size must be at least 1",
    ):
        testing.check_config("cell", "gru", ["cell.hidden_size=0"])
    with pytest.raises(ContractError, match=r"cell=gru: the config does not compose with .*hidden_size=abc"):
        testing.check_config("cell", "gru", ["cell.hidden_size=abc"])


def test_the_kit_imports_without_pytest_or_torch(tmp_path):
    # sys.modules[name] = None makes `import name` fail as if it were not installed
    code = (
        "import sys; sys.modules['pytest'] = None; import runner.testing as t; "
        "print(callable(t.check_cell), hasattr(t, 'runner_train'), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False", "False"]


def test_runner_train_fixture_trains_through_the_entry_point(runner_train):
    record = runner_train("cell=gru", "data=adding", *small("data", "adding"), "cell.hidden_size=4")
    assert record["status"] == "ok" and record["steps"] == 3
    assert (record["cell"], record["data"], record["grad"]) == ("gru", "adding", "clip_norm")
    with pytest.raises(ContractError, match=r"(?s)without results\.json.*hidden_size"):
        runner_train("cell.hidden_size=abc")


# -- the kit must catch what breaks the contract -------------------------------------------------


@dataclass
class Empty:
    pass


FAKE = Origin("fake", "tests.test_contract", "fake-plugins", "0.1")


def with_plugin(
    kind: str, builder, config_class: type = Empty, name: str = "fake", plugins: Registry | None = None
) -> Registry:
    """The installed plugins plus a fake one from distribution fake-plugins (the kit composes the whole config)."""
    plugins = plugins or Registry(plugins={k: dict(v) for k, v in INSTALLED.plugins.items()})
    plugins.plugins[kind][name] = Plugin(kind, name, builder, config_class, FAKE)
    return plugins


@dataclass
class Doubling:
    width: int = 2

    def __post_init__(self) -> None:
        self.width *= 2  # not idempotent: a saved config would not read back the same


def test_check_config_catches_a_config_that_changes_when_read_back():
    plugins = with_plugin("cell", print, Doubling)
    with pytest.raises(ContractError, match=r"override cell\.width=3 gave 6"):
        testing.check_config("cell", "fake", ["cell.width=3"], plugins=plugins)
    with pytest.raises(ContractError, match="changes when saved and read back"):
        testing.check_config("cell", "fake", plugins=plugins)


class Cell(nn.Module):
    """A correct minimal cell; the broken ones below change one thing."""

    def __init__(self, input_size: int):
        super().__init__()
        self.rnn = nn.RNN(input_size, 4, batch_first=True)
        self.output_size = 4

    def forward(self, x, state=None):
        return self.rnn(x, state)


class Forgetful(Cell):
    def forward(self, x, state=None):
        return self.rnn(x)


class TimeFirst(Cell):
    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return out.transpose(0, 1), state


class Unused(Cell):
    def __init__(self, input_size: int):
        super().__init__(input_size)
        self.spare = nn.Parameter(torch.zeros(3))


class Boxed:
    def __init__(self, h):
        self.h = h


class HiddenState(Cell):
    def forward(self, x, state=None):
        out, h = self.rnn(x, None if state is None else state.h)
        return out, Boxed(h)


class Unseeded(Cell):
    def __init__(self, input_size: int):
        super().__init__(input_size)
        with torch.no_grad():
            self.rnn.weight_hh_l0.fill_(random.random())


class NoSize(Cell):
    def __init__(self, input_size: int):
        super().__init__(input_size)
        del self.output_size


class DropoutInEval(Cell):
    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return F.dropout(out, 0.5, training=True), state


class ZerosState(Cell):
    """Builds its zero state in torch's default dtype on the CPU, whatever the inputs."""

    def forward(self, x, state=None):
        return self.rnn(x, torch.zeros(1, x.shape[0], 4) if state is None else state)


class Elementwise(nn.Module):
    """h_t = tanh(w * x_t + u * h_{t-1}), one unit per input (no matrix product)."""

    def __init__(self, input_size: int, zeros=None):
        super().__init__()
        self.w, self.u = nn.Parameter(torch.randn(input_size)), nn.Parameter(torch.rand(input_size))
        self.output_size = input_size
        self.zeros = zeros or (lambda x: x.new_zeros(x.shape[0], x.shape[2]))

    def forward(self, x, state=None):
        h = self.zeros(x) if state is None else state
        outputs = []
        for t in range(x.shape[1]):
            h = torch.tanh(self.w * x[:, t] + self.u * h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h


class ElementwiseZeros(Elementwise):
    """float32 zeros promote to float64 here: only another device shows the mistake."""

    def __init__(self, input_size: int):
        super().__init__(input_size, zeros=lambda x: torch.zeros(x.shape[0], x.shape[2]))


class Float32Outputs(Cell):
    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return out.float(), state


@pytest.mark.parametrize(
    "cls,problem",
    [
        (Cell, None),
        (Forgetful, "two windows"),
        (TimeFirst, "expected \\(batch, time, output_size\\)"),
        (Unused, "parameter spare gets no gradient"),
        (HiddenState, "gradients cross a detached state"),
        (Unseeded, "same seed builds a different cell"),
        (NoSize, "output_size is None"),
        (DropoutInEval, "two passes over the same inputs differ in eval mode: dropout .* self.training"),
        (ZerosState, "fails on float64 inputs .*x.new_zeros"),
        (Elementwise, None),
        (ElementwiseZeros, "fails on inputs on the (meta|cuda|mps) device .*x.new_zeros"),
        (Float32Outputs, "on float64 inputs it returns outputs of torch.float32"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_check_cell_catches_a_broken_cell(cls, problem):
    plugins = with_plugin("cell", lambda config, input_size: cls(input_size))
    if problem is None:
        testing.check_cell("fake", plugins=plugins)
        return
    with pytest.raises(ContractError, match=problem):
        testing.check_cell("fake", plugins=plugins)


class Data:
    """A correct minimal dataset: the adding problem's shapes, drawn from a seeded generator."""

    task = Task(inputs="real", input_size=2, targets="real", output_size=1, loss_steps="last")

    def __init__(self, config):
        self.config = config

    def prepare_data(self):
        pass

    def setup(self, stage):
        generator = torch.Generator().manual_seed(0)
        self.x, self.y = torch.rand(8, 5, 2, generator=generator), torch.rand(8, generator=generator)

    def train_dataloader(self):
        return [(self.x[:4], self.y[:4]), (self.x[4:], self.y[4:])]

    val_dataloader = train_dataloader


class EveryStep(Data):
    def train_dataloader(self):
        return [(self.x, self.x[..., 0])]


class GlobalRNG(Data):
    def setup(self, stage):
        self.x, self.y = torch.rand(8, 5, 2), torch.rand(8)


class TokensOutOfRange(Data):
    task = Task(inputs="tokens", input_size=3, targets="classes", output_size=2, loss_steps="last")

    def train_dataloader(self):
        return [(torch.full((4, 5), 3), torch.zeros(4, dtype=torch.long))]


class StrayBaseline(Data):
    task = Task(
        inputs="real", input_size=2, targets="real", output_size=1, loss_steps="last", baseline={"accuracy": 0.5}
    )


class MisnamedMonitor(Data):
    @property
    def task(self):
        return Task(inputs="real", input_size=2, targets="real", output_size=1, loss_steps="last", monitor="acc")


@pytest.mark.parametrize(
    "cls,problem",
    [
        (Data, None),
        (EveryStep, "the Task \\(targets=real, loss_steps=last\\) says \\(8,\\)"),
        (GlobalRNG, "change with torch's global generator"),
        (TokensOutOfRange, "token ids outside"),
        (StrayBaseline, "baselines \\['accuracy'\\] are not among"),
        (MisnamedMonitor, "data=fake: the data module's task is not a valid Task: monitor 'acc' is not among"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_check_dataset_catches_a_broken_dataset(cls, problem):
    plugins = with_plugin("data", cls)
    if problem is None:
        testing.check_dataset("fake", plugins=plugins)
        return
    with pytest.raises(ContractError, match=problem):
        testing.check_dataset("fake", plugins=plugins)


def boasts(parameters):
    return True


def hides(parameters):
    for p in parameters:
        p.grad.mul_(0.5)
    return False


def mumbles(parameters):
    return None


def steps(parameters):
    with torch.no_grad():
        for p in parameters:
            p.sub_(p.grad)
    return False


@pytest.mark.parametrize(
    "handler,problem",
    [
        (boasts, "answered True at scale 1e-08, but the gradients did not change"),
        (hides, "answered False at scale 1e-08, but the gradients changed"),
        (mumbles, "answered None, not a bool"),
        (steps, "changed the weights"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_check_grad_handler_catches_a_broken_handler(handler, problem):
    with pytest.raises(ContractError, match=problem):
        testing.check_grad_handler("fake", plugins=with_plugin("grad", lambda config: handler))


# -- a handler's state: what it depends on besides the gradients must survive a checkpoint -------------


class Annealed:
    """Scales the gradients by 1 / (1 + steps seen): a counter, saved with PyTorch's convention."""

    def __init__(self):
        self.seen = 0

    def __call__(self, parameters):
        for p in parameters:
            p.grad.mul_(1 / (1 + self.seen))
        self.seen += 1
        return self.seen > 1

    def state_dict(self):
        return {"seen": self.seen}

    def load_state_dict(self, state):
        self.seen = state["seen"]


class Forgets(Annealed):
    """The counter without a way to save it: a resumed run starts counting again."""

    state_dict = load_state_dict = None


class HalfSaved(Annealed):
    def load_state_dict(self, state):
        pass


class Pickled(Annealed):
    def state_dict(self):
        return {"seen": Boxed(self.seen)}


class AnnealedModule(nn.Module):
    """The counter in a buffer: the runner saves it with the model's weights."""

    def __init__(self):
        super().__init__()
        self.register_buffer("seen", torch.zeros((), dtype=torch.long))

    def forward(self, parameters):
        for p in parameters:
            p.grad.mul_(1 / (1 + self.seen))
        self.seen += 1
        return bool(self.seen > 1)


class ModuleAttribute(AnnealedModule):
    def __init__(self):
        super().__init__()
        del self.seen
        self.seen = 0


class Learned(AnnealedModule):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))


def given_the_step(parameters, *, step=0):
    """The same rule, counting with the runner's step: nothing of its own to save."""
    for p in parameters:
        p.grad.mul_(1 / (1 + step))
    return step > 0


def shaky(parameters):
    for p in parameters:
        p.grad.add_(random.random())
    return True


@pytest.mark.parametrize(
    "make,problem",
    [
        (Annealed, None),
        (AnnealedModule, None),
        (lambda: given_the_step, None),
        (Forgets, r"grad=fake: does not resume exactly: .* at step 3 .* give it state_dict\(\) and load_state_dict"),
        (HalfSaved, r"grad=fake: does not resume exactly.*its state_dict\(\) leaves out some"),
        (Pickled, r"grad=fake: its state_dict\(\) holds objects a checkpoint cannot be read back"),
        (ModuleAttribute, r"grad=fake: does not resume exactly.*in a buffer"),
        (Learned, r"grad=fake: the handler holds parameters \['scale'\]"),
        (lambda: shaky, r"grad=fake: two built from the same config, .* \(not Python.s random\)"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_check_grad_handler_fails_a_handler_that_would_not_resume_exactly(make, problem):
    plugins = with_plugin("grad", lambda config: make())
    if problem is None:
        testing.check_grad_handler("fake", plugins=plugins)
        return
    with pytest.raises(ContractError, match=problem):
        testing.check_grad_handler("fake", plugins=plugins)


# -- optimizers: torch.optim.Optimizer, the closure, the state a checkpoint keeps ---------------------------


@pytest.mark.parametrize("name", sorted(INSTALLED.plugins["optim"]))
def test_every_optimizer_keeps_the_contract(name):
    assert isinstance(testing.check_optimizer(name), torch.optim.Optimizer)


def test_rmsprop_with_momentum_and_centred_averages_resumes_exactly():
    overrides = ["optim.alpha=0.9", "optim.momentum=0.9", "optim.centered=true"]
    assert testing.check_optimizer("rmsprop", overrides).param_groups[0]["centered"] is True


class SignSGD(torch.optim.Optimizer):
    """Correct: p <- p - lr * sign(m), m the running mean of the gradient (Bernstein et al. 2018), in self.state."""

    def __init__(self, params, lr=0.01, beta=0.9):
        super().__init__(params, {"lr": lr, "beta": beta})

    @torch.no_grad()
    def step(self, closure=None):
        with torch.enable_grad():
            loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                m = self._momentum(p)
                m.mul_(group["beta"]).add_(p.grad, alpha=1 - group["beta"])
                p.sub_(group["lr"] * m.sign())
        return loss

    def _momentum(self, p):
        if "m" not in self.state[p]:
            self.state[p]["m"] = torch.zeros_like(p)
        return self.state[p]["m"]


class MomentumAside(SignSGD):
    """Its running mean in a plain dict, which state_dict() does not see."""

    def _momentum(self, p):
        aside = self.__dict__.setdefault("aside", {})
        return aside.setdefault(id(p), torch.zeros_like(p))


class IgnoresClosure(SignSGD):
    def step(self, closure=None):
        return None


class Plain:
    def __init__(self, params, lr=0.01):
        self.param_groups = [{"params": list(params), "lr": lr}]


class FirstOnly(SignSGD):
    def __init__(self, params, lr=0.01, beta=0.9):
        super().__init__(list(params)[:1], lr, beta)


@pytest.mark.parametrize(
    "cls,problem",
    [
        (SignSGD, None),
        (MomentumAside, "optim=fake: does not resume exactly: .* keep all of it in self.state"),
        (IgnoresClosure, "optim=fake: step\\(closure\\) did not call the closure"),
        (Plain, "optim=fake: the builder returned Plain, not a torch.optim.Optimizer"),
        (FirstOnly, "optim=fake: its param groups hold 1 tensors, not each of the 4 parameters"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_check_optimizer_catches_a_broken_optimizer(cls, problem):
    plugins = with_plugin("optim", lambda config, parameters: cls(parameters))
    if problem is None:
        assert isinstance(testing.check_optimizer("fake", plugins=plugins), SignSGD)
        return
    with pytest.raises(ContractError, match=problem):
        testing.check_optimizer("fake", plugins=plugins)


# -- check_plugins: everything one distribution registers, in one call -----------------------------


def test_check_plugins_checks_every_plugin_of_a_distribution():
    plugins = with_plugin("cell", lambda config, input_size: Cell(input_size))
    plugins = with_plugin("data", Data, name="fakedata", plugins=plugins)
    checked = testing.check_plugins("Fake_Plugins", plugins=plugins)  # compared as pip compares names
    assert sorted(checked) == ["cell=fake", "data=fakedata"]
    assert isinstance(checked["cell=fake"], Cell) and isinstance(checked["data=fakedata"], Task)
    with pytest.raises(ContractError, match="fake-plugins registers no grad=fake; it registers cell=fake, data="):
        testing.check_plugins("fake-plugins", {"grad=fake": []}, plugins=plugins)
    with pytest.raises(ContractError, match="other-plugins registers no plugins: is it installed"):
        testing.check_plugins("other-plugins", plugins=plugins)
    with pytest.raises(ContractError, match="data=fakedata: the data module's task is not a valid Task"):
        testing.check_plugins(
            "fake-plugins", plugins=with_plugin("data", MisnamedMonitor, name="fakedata", plugins=plugins)
        )


def test_check_plugins_and_the_checks_report_a_plugin_that_failed_to_register():
    plugins = with_plugin("cell", lambda config, input_size: Cell(input_size))
    failure = Failure(FAKE, "its annotation 'itn' cannot be evaluated", "cell", "typo", "hidden_size")
    plugins.failures.append(failure)
    with pytest.raises(ContractError, match=r"(?s)fake-plugins: 1 plugin failure.*cell 'typo', field 'hidden_size'"):
        testing.check_plugins("fake-plugins", plugins=plugins)
    with pytest.raises(ContractError, match="cell=typo: no cell named 'typo' \\(it failed: plugin 'fake'"):
        testing.check_cell("typo", plugins=plugins)
