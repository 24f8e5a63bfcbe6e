"""Arguments for function checks, generated from the rubric's case specs.

Each case draws from its own generator, seeded by (check seed, case number), so cases are
the same on every run and machine and adding a case does not change the others. The result
is plain data (arrays, numbers, lists, toy-model tables) that can be sent to the student's
process and handed to the reference alike.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .child import toys
from .rubric import ArraySpec, FunctionCheck, ToySpec


def generate_cases(check: FunctionCheck) -> list[tuple[Any, ...]]:
    """Positional arguments for every case of `check`."""
    return [
        tuple(_materialize(spec, rng) for spec in case.values())
        for rng, case in ((np.random.default_rng([check.seed, i]), case) for i, case in enumerate(check.cases))
    ]


def _materialize(spec: Any, rng: np.random.Generator) -> Any:
    if isinstance(spec, ArraySpec):
        shape = tuple(spec.array)
        if spec.dist == "normal":
            values = rng.normal(scale=spec.scale, size=shape)
        elif spec.dist == "uniform":
            values = rng.uniform(spec.low, spec.high, size=shape)
        else:
            values = rng.integers(int(spec.low), int(spec.high), size=shape)
        return values.astype(spec.dtype)
    if isinstance(spec, ToySpec):
        return {"__toy__": spec.toy, "table": toys.random_table(rng, spec.rows, spec.vocab)}
    return copy.deepcopy(spec)


def for_reference(args: tuple[Any, ...]) -> list[Any]:
    """Fresh copies of a case's arguments, with toy models turned into callables."""
    return [toys.build(arg["__toy__"], arg["table"]) if _is_toy(arg) else copy.deepcopy(arg) for arg in args]


def describe_case(names: list[str], args: tuple[Any, ...]) -> str:
    """A short human description, e.g. `X (1, 4), W_up (4, 16), alpha=2.0`."""
    parts = []
    for name, arg in zip(names, args):
        if isinstance(arg, np.ndarray):
            parts.append(f"{name} {tuple(arg.shape)}")
        elif _is_toy(arg):
            parts.append(f"{name} a toy model over {arg['table'].shape[1]} tokens")
        else:
            text = repr(arg)
            parts.append(f"{name}={text if len(text) <= 40 else text[:37] + '...'}")
    return ", ".join(parts)


def _is_toy(arg: Any) -> bool:
    return isinstance(arg, dict) and "__toy__" in arg
