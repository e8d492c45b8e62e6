"""Option values turned into Python values without loading pydantic, where that is plain.

Typer (0.29) converts each option's value with a pydantic ``TypeAdapter`` it builds on first
use. Importing pydantic and building a dozen adapters costs ``cxpulse score`` about 0.08 s of
start-up, a tenth of the whole command on a 10-million-answer file (docs/benchmarks.md). The
values cxpulse's commands take are simple (text, whole and decimal numbers in plain notation,
choices, paths, lists of text), so :class:`QuickCoercion` converts those itself and hands
everything else to Typer's own conversion: any value it cannot settle, and every value that
is refused, so Typer's error messages stay word for word as they were.

Typer's own conversion stays the reference: tests/cli/test_coercion.py checks that both give
the same value, of the same type, for every parameter of every command. Typer's helpers for
choices and paths (which do not use pydantic) are called as Typer calls them.
"""

from __future__ import annotations

import math
import re
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args, get_origin

if TYPE_CHECKING:
    from typer._click import Context
    from typer._coercion import RuntimeParam, TypeDescriptor
    from typer.core import _TyperParameter

UNDECIDED: Any = object()
"""What :func:`quick_value` returns for a value it leaves to Typer."""

# Plain notation only: pydantic accepts more ("1_000", " 5", "+5", "1e3"), which Typer then
# converts itself. Int and float agree with pydantic's on these (both round correctly).
_WHOLE = re.compile(r"-?[0-9]{1,18}")
_DECIMAL = re.compile(r"-?[0-9]{1,18}(?:\.[0-9]{1,18})?")


class QuickCoercion:
    """A Typer runtime parameter: quick for plain values, Typer's own for the rest."""

    def __init__(self, descriptor: TypeDescriptor) -> None:
        self.descriptor = descriptor
        self._typer: RuntimeParam | None = None

    def coerce(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        if value is None:
            # As Typer's RuntimeParam.coerce: an option not given and without a default.
            return () if param.multiple or param.nargs == -1 else None
        try:
            quick = quick_value(self.descriptor, value, param, ctx)
        except Exception:  # Typer decides, and words, every refusal
            quick = UNDECIDED
        if quick is not UNDECIDED:
            return quick
        return self.typer_coercion().coerce(value, param=param, ctx=ctx)

    def typer_coercion(self) -> RuntimeParam:
        """Typer's own conversion of this parameter (builds its pydantic adapter)."""
        if self._typer is None:
            from typer._coercion import build_runtime_param

            self._typer = build_runtime_param(self.descriptor)
        return self._typer


def quick_value(
    descriptor: TypeDescriptor, value: Any, param: _TyperParameter, ctx: Context | None
) -> Any:
    """``value`` converted as Typer converts it, or :data:`UNDECIDED` (never an error of its
    own: a value this cannot settle goes to Typer)."""
    info = descriptor.parameter_info
    annotation: Any = descriptor.annotation
    if info.parser is not None or descriptor.file_annotation is not None:
        return UNDECIDED
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        many = param.multiple or param.nargs == -1
        if item is str and many and isinstance(value, tuple | list):
            texts = all(isinstance(text, str) for text in value)
            return list(value) if texts else UNDECIDED
        return UNDECIDED
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        from typer._param_types import coerce_cli_choice

        return coerce_cli_choice(
            value, choices=list(annotation), case_sensitive=info.case_sensitive, ctx=ctx
        )
    if annotation is str:
        return value if isinstance(value, str) else UNDECIDED
    if annotation is int or annotation is float:
        return _number(annotation, value, info.min, info.max, info.clamp)
    if annotation is Path and info.path_type is None and isinstance(value, str) and value:
        from typer._param_types import coerce_cli_path

        return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    return UNDECIDED


def _number(
    kind: type[int] | type[float],
    value: Any,
    low: float | None,
    high: float | None,
    clamp: bool | None,
) -> Any:
    if clamp:
        return UNDECIDED
    if type(value) is kind:  # a default, already of its type (bool is not an int here)
        number: int | float = value
        if not math.isfinite(number):
            return UNDECIDED
    elif isinstance(value, str) and (_WHOLE if kind is int else _DECIMAL).fullmatch(value):
        number = kind(value)
    else:
        return UNDECIDED
    if (low is not None and number < low) or (high is not None and number > high):
        return UNDECIDED
    return number
