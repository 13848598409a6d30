"""How the runner calls a gradient handler: with the step if it asks for it, its state kept in checkpoints.

The contract is :class:`runner.GradHandler`'s; the model (:mod:`runner._train.model`) and the
contract kit (:mod:`runner.plugins.contract_step`) both read a handler through these two questions.
"""

from __future__ import annotations

import inspect

from torch import nn

from runner.protocols import GradHandler


def takes_step(handler: GradHandler) -> bool:
    """Whether a gradient handler declares the keyword ``step``: the runner then passes the global step."""
    call = handler.forward if isinstance(handler, nn.Module) else handler
    try:
        return "step" in inspect.signature(call).parameters
    except (TypeError, ValueError):  # a builtin without a signature: it cannot take one
        return False


def has_state(handler: GradHandler) -> bool:
    """Whether the runner keeps a handler's state itself: an ``nn.Module``'s buffers are in the model's weights."""
    methods = (getattr(handler, name, None) for name in ("state_dict", "load_state_dict"))
    return not isinstance(handler, nn.Module) and all(callable(m) for m in methods)
