"""Settings as checked dataclasses, and command-line flags made from their fields.

A run's settings are a dataclass whose every field says, through `_f`, its default, a
help text (shown by --help) and what is allowed. `Settings.check()` raises a ValueError
that names the setting, its value and what is allowed; `add_flags` turns the fields into
argparse flags, so a default is written once, in the dataclass.

    >>> @dataclass
    ... class MyConfig(Settings):
    ...     steps: int = _f(60, "optimiser steps", whole(1))
    ...     lr: float = _f(1e-4, "peak learning rate", number(above=0))
    >>> add_flags(parser, MyConfig)               # --steps 60, --lr 0.0001
    >>> MyConfig.build(None, {"lr": 3e-4}, "my")  # a checked copy with lr replaced
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import types
import typing
from dataclasses import field


def _f(default, help, allowed=None):
    """A settings field: its default, its help text and (optional) a rule for what is allowed."""
    return field(default=default, metadata={"help": help, "allowed": allowed})


# ---------------------------------------------------------------------------------------
# Rules: (test, words for the error message)
# ---------------------------------------------------------------------------------------

def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def whole(minimum: int = 0) -> tuple:
    """A whole number >= minimum."""
    return (lambda v: _is_int(v) and v >= minimum), f"a whole number >= {minimum}"


def number(above=None, at_least=None, below=None, at_most=None) -> tuple:
    """A finite number within the given bounds (any finite number when none is given)."""
    bounds = [(above, "> {}", lambda v, b: v > b), (at_least, ">= {}", lambda v, b: v >= b),
              (below, "< {}", lambda v, b: v < b), (at_most, "<= {}", lambda v, b: v <= b)]
    bounds = [(b, words.format(b), test) for b, words, test in bounds if b is not None]
    words = "a number" + (" " + " and ".join(w for _, w, _ in bounds) if bounds else "")
    return (lambda v: _is_num(v) and all(test(v, b) for b, _, test in bounds)), words


def optional(rule: tuple) -> tuple:
    """None, or what `rule` allows."""
    test, words = rule
    return (lambda v: v is None or test(v)), f"None or {words}"


class Settings:
    """Mixin for settings dataclasses: checked on creation, copied with overrides by `build`."""

    def __post_init__(self):
        self.check()

    def check(self):
        """ValueError naming the setting, its value and what is allowed; else self."""
        for f in dataclasses.fields(self):
            rule = f.metadata.get("allowed")
            value = getattr(self, f.name)
            if rule is not None and not rule[0](value):
                raise ValueError(f"{f.name} must be {rule[1]}, not {value!r}")
        return self

    @classmethod
    def build(cls, config, overrides: dict, what: str):
        """`config` (or the defaults) with `overrides` replaced, checked; `what` names the
        run in the error for an unknown setting ("PPO", "DPO", ...)."""
        base = config if config is not None else cls()
        if not isinstance(base, cls):
            raise ValueError(f"config must be a {cls.__name__}, not {type(base).__name__}")
        allowed = [f.name for f in dataclasses.fields(cls)]
        for name in overrides:
            if name not in allowed:
                raise ValueError(f"unknown {what} setting {name!r}; allowed: {sorted(allowed)}")
        return dataclasses.replace(base, **overrides)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------------------
# Command-line flags from the fields
# ---------------------------------------------------------------------------------------

def _optional_parser(kind):
    def parse(text):
        return None if text.lower() == "none" else kind(text)

    parse.__name__ = kind.__name__
    return parse


def flag_type(annotation):
    """(argparse type, is_bool) for a field's type: int, float, str, bool or Optional of one."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _optional_parser(args[0]) if args[0] is not str else str, False
    if annotation is bool:
        return None, True
    if annotation in (int, float, str):
        return annotation, False
    raise ValueError(f"no command-line flag for a setting of type {annotation!r}")


def add_flags(parser, cls, only=None, skip=(), prefix: str = "", defaults=None, use_defaults: bool = True,
              choices=None) -> list:
    """Add a --flag for each field of the settings dataclass `cls` to `parser`; returns the
    field names in flag order.

    only: these fields, in this order (default: all, in field order) less `skip`. prefix:
    put before each flag and its destination ("rm-": --rm-steps, args.rm_steps).
    defaults: {name: value} replacing the dataclass's defaults; use_defaults=False gives
    every flag the default None (then only the flags given on the command line count).
    choices: {name: allowed values}. Booleans become --name / --no-name.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    names = [n for n in (only if only is not None else fields) if n not in skip]
    for name in names:
        f = fields[name]
        flag = "--" + (prefix + name).replace("_", "-")
        default = (defaults or {}).get(name, f.default) if use_defaults else None
        kind, is_bool = flag_type(hints[name])
        help = f.metadata.get("help", "")
        if is_bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help)
        else:
            parser.add_argument(flag, type=kind, default=default, choices=(choices or {}).get(name), help=help)
    return names


def from_flags(args, names, prefix: str = "") -> dict:
    """{name: value} of the flags `add_flags` made (with the same prefix)."""
    return {name: getattr(args, (prefix + name).replace("-", "_")) for name in names}


def run_command(parser, run, argv=None) -> int:
    """A command line's main: parse `argv` and return run(args, argv), its exit status. Bad
    input (a ValueError or FileNotFoundError) becomes one "error: ..." line on stderr and 1."""
    args = parser.parse_args(argv)
    try:
        return run(args, argv)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
