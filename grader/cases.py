"""Arguments for function checks, generated from the rubric's case specs.

Each case draws from its own generator, seeded by (check seed, case number), so cases are
the same on every run and machine and adding a case does not change the others. The result
is plain data (arrays, numbers, lists, toy-model tables) that can be sent to the student's
process and handed to the reference alike.

There are two streams. The *grading* stream gives the cases that are graded. The *practice*
stream gives the cases of the self-check bundle: the same specs (or the rubric's `practice`
cases), drawn from a generator spawned from the same seed, so they are independent of the
graded ones. The bundle shows the shapes and kinds of arguments grading uses and lets the
self-check name the same mistakes, but a table of the bundle's inputs and outputs answers
no graded case. A case made only of fixed numbers cannot be drawn again: it has no practice
twin (see `generate_cases`).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .child import toys
from .rubric import ArraySpec, FunctionCheck, ToySpec


GRADING, PRACTICE = "grading", "practice"
PRACTICE_SPAWN_KEY = 1  # the practice stream is numpy's spawned child 1 of (seed, case number)


def generate_cases(check: FunctionCheck, stream: str = GRADING) -> list[tuple[Any, ...]]:
    """Positional arguments for every graded case of `check` (GRADING), or for every case of
    the self-check bundle (PRACTICE): the rubric's `practice` cases if it gives any, else the
    graded cases that draw something (a random array or a toy model), drawn again. A case of
    fixed numbers only would be the same case with the same answer, so it has no practice
    twin; a check made only of such cases has no practice cases at all."""
    if stream == GRADING:
        numbered = list(enumerate(check.cases))
    elif stream == PRACTICE:
        numbered = list(enumerate(check.practice)) if check.practice else \
            [(i, case) for i, case in enumerate(check.cases) if is_drawn(case)]
    else:
        raise ValueError(f"unknown stream {stream!r}")
    return [tuple(_materialize(spec, _generator(check.seed, i, stream)) for spec in case.values())
            for i, case in numbered]


def is_drawn(case: dict[str, Any]) -> bool:
    """Whether a case spec draws anything from its generator."""
    return any(isinstance(spec, (ArraySpec, ToySpec)) for spec in case.values())


def _generator(seed: int, number: int, stream: str) -> np.random.Generator:
    if stream == GRADING:  # unchanged since the first release: graded cases stay what they were
        return np.random.default_rng([seed, number])
    return np.random.default_rng(np.random.SeedSequence([seed, number], spawn_key=(PRACTICE_SPAWN_KEY,)))


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
