"""The Typer application every command module registers on, and how its help reads.

Typer's help shows a type placeholder for every parameter (``<str>``, ``<bool>``,
``<list[str]>``, ``<float range>``) and wraps a required argument in braces (``{file}``).
Those are Python's words, not the user's: here every value an option takes is named for what
it is (``--score COLUMN``, ``--level LEVEL``), a flag shows no value at all, and an argument
is shown by its name (``FILE``). ``tests/cli/test_help.py`` walks every command's help and
refuses any placeholder.

Every parameter also converts its value through :class:`~cxpulse.cli.coercion.QuickCoercion`,
which leaves pydantic unloaded for plain values (start-up time; see that module).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from typer.models import CommandFunctionType

from cxpulse.cli.coercion import QuickCoercion


def _quick_coercion(param: Any) -> QuickCoercion:
    # Typer asks ``get_runtime_param`` for the object that converts a parameter's values.
    quick: QuickCoercion | None = param.__dict__.get("_cxpulse_coercion")
    if quick is None:
        quick = param._cxpulse_coercion = QuickCoercion(param.type_descriptor)
    return quick


class _QuickOption(TyperOption):
    """An option whose values go through :class:`QuickCoercion`."""

    def get_runtime_param(self) -> Any:
        return _quick_coercion(self)


class _NamedArgument(TyperArgument):
    """An argument shown by its name only: ``FILE``, not ``{file}`` and ``<path>``; its values
    go through :class:`QuickCoercion`."""

    def get_runtime_param(self) -> Any:
        return _quick_coercion(self)

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw.upper()
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")


def _value_name(option: TyperOption) -> str:
    """What an option without a chosen metavar takes: its long name in capitals
    (``--port PORT``, ``--database-url DATABASE-URL``), as argparse names values."""
    longest = max(option.opts, key=len).lstrip("-")
    return longest.upper()


def _readable(params: list[Any]) -> None:
    for param in params:
        if isinstance(param, TyperArgument) and not isinstance(param, _NamedArgument):
            param.__class__ = _NamedArgument
        elif isinstance(param, TyperOption):
            if type(param) is TyperOption:
                param.__class__ = _QuickOption
            if param.metavar is not None:
                continue
            if param.is_flag or param.count:
                param.metavar = ""  # a switch takes no value: nothing to show
            elif not param.type_descriptor.is_choice:
                # Choices stay listed (<csat|dsat|nps|ces|mean>): they are the real values.
                param.metavar = _value_name(param)


if TYPE_CHECKING:
    _Command = TyperCommand
else:
    _Command = object  # a mixin: its ``super()`` is the Typer class after it in the bases


class _Readable(_Command):
    """Readable help for the parameters and the help option of a command or a group."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _readable(self.params)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            _readable([option])
        return option


class ReadableCommand(_Readable, TyperCommand):
    """A command whose help names values in the user's words (see the module docstring)."""


class ReadableGroup(_Readable, TyperGroup):
    """A command group whose help names values in the user's words."""


class CommandGroup(typer.Typer):
    """``typer.Typer`` whose commands and groups use the readable help above."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", ReadableGroup)
        super().__init__(**kwargs)

    def command(
        self, *args: Any, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        kwargs.setdefault("cls", ReadableCommand)
        return super().command(*args, **kwargs)


app = CommandGroup(
    name="cxpulse",
    help="Customer-satisfaction scores (CSAT, NPS, CES, DSAT) with confidence intervals.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)


def command_group(name: str, *, help: str, epilog: str) -> CommandGroup:
    """A group of subcommands, ``cxpulse NAME ...``, registered on :data:`app`; run without a
    subcommand it shows its help."""
    group = CommandGroup(
        help=help, epilog=epilog, no_args_is_help=True, rich_markup_mode="markdown"
    )
    app.add_typer(group, name=name)
    return group


@app.callback()
def _commands() -> None:
    # A callback keeps the app a group of commands even when ``cxpulse.cli.main`` has
    # registered only the one being run: without it Typer would run that command directly.
    pass
