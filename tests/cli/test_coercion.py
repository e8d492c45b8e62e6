"""QuickCoercion against Typer's own conversion, for every parameter of every command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from hypothesis import given, settings
from hypothesis import strategies as st
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param
from typer.core import TyperArgument, TyperOption

from cxpulse.cli import load_commands
from cxpulse.cli.coercion import UNDECIDED, QuickCoercion, quick_value

TEXTS = [
    *("0", "1", "5", "10", "11", "-3", "007", "30", "1000000", "9" * 25),
    *("0.5", "0.95", "0.999", "0.9990", "1.5", "2", "-0.25", "1e-1", "9e-1", ".5", "5."),
    *(" 5", "5 ", "+5", "1_0", "0x10", "nan", "inf", "", "abc", "Ⅷ", "٣"),
    *("csat", "NPS", "Nps", "month", "WEEK", "json", "CSV", "adjusted-wald", "WALD"),
    *("table", "owner", "~/answers.csv", "a/../b.csv", "/nonexistent/answers.csv"),
]


def _parameters() -> Iterator[tuple[str, Any, Any]]:
    """(command path, click command, parameter) for every parameter of every command."""
    root = typer.main.get_command(load_commands())

    def walk(command: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
        for param in command.params:
            if isinstance(param, TyperOption | TyperArgument):
                yield path, command, param
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, f"{path} {name}")

    yield from walk(root, "cxpulse")


PARAMETERS = list(_parameters())


def _outcome(convert: Any, value: Any, param: Any, ctx: Context) -> tuple[str, Any]:
    try:
        result = convert.coerce(value, param=param, ctx=ctx)
    except BadParameter as error:
        return ("refused", error.format_message())
    return ("value", (type(result), repr(result)))  # repr: nan equals nan


def _check(command: Any, param: Any, value: Any) -> None:
    ctx = Context(command)
    quick = _outcome(QuickCoercion(param.type_descriptor), value, param, ctx)
    typer_own = _outcome(build_runtime_param(param.type_descriptor), value, param, ctx)
    assert quick == typer_own, (param.name, value)


def _values(param: Any, tmp_path: Path) -> list[Any]:
    texts = [*TEXTS, str(tmp_path), str(tmp_path / "answers.csv")]
    if param.multiple or param.nargs == -1:
        return [(), ("a",), ("a", "b"), tuple(texts), "a", None]
    return [*texts, param.default, None, True, False, 3, 0.5]


def test_the_commands_have_parameters_of_every_kind() -> None:
    # The checks below mean something only if they meet each kind QuickCoercion handles.
    kinds = {repr(param.type_descriptor.annotation) for _, _, param in PARAMETERS}
    assert {"<class 'str'>", "<class 'int'>", "<class 'float'>", "<class 'pathlib.Path'>"} <= kinds
    assert "list[str]" in kinds
    assert any(kind.startswith("<enum") for kind in kinds)
    assert any(p.type_descriptor.parameter_info.max is not None for _, _, p in PARAMETERS)


@pytest.mark.parametrize(
    ("path", "command", "param"),
    PARAMETERS,
    ids=[f"{path} {param.name}" for path, _, param in PARAMETERS],
)
def test_same_value_or_same_refusal_as_typer(
    tmp_path: Path, path: str, command: Any, param: Any
) -> None:
    (tmp_path / "answers.csv").write_text("score\n5\n", encoding="utf-8")
    for value in _values(param, tmp_path):
        _check(command, param, value)


NUMBER_PARAMETERS = [
    (command, param)
    for _, command, param in PARAMETERS
    if param.type_descriptor.annotation in (int, float)
]


@settings(max_examples=150, deadline=None)
@given(
    text=st.one_of(
        st.from_regex(r"-?[0-9]{1,22}(\.[0-9]{0,22})?", fullmatch=True),
        st.text(alphabet="0123456789.-+eE_ ", max_size=12),
    )
)
def test_numbers_as_typer_reads_them(text: str) -> None:
    for command, param in NUMBER_PARAMETERS:
        _check(command, param, text)


def test_plain_values_never_reach_pydantic() -> None:
    # What cxpulse score on a file is given: each of these is settled without Typer's adapter.
    command = next(c for path, c, _ in PARAMETERS if path == "cxpulse score")
    for name, value in [
        ("file", "answers.parquet"),
        ("metric", "nps"),
        ("score_column", "score"),
        ("by", ("segment_a", "segment_b")),
        ("date", "answered_at"),
        ("period", "month"),
        ("output", "json"),
        ("level", 0.95),
        ("level", "0.9"),
        ("min_n", 30),
        ("digits", "2"),
    ]:
        scoring = next(p for path, _, p in PARAMETERS if path == "cxpulse score" and p.name == name)
        value_found = quick_value(scoring.type_descriptor, value, scoring, Context(command))
        assert value_found is not UNDECIDED, (name, value)


def test_refusals_are_left_to_typer() -> None:
    level = next(p for path, _, p in PARAMETERS if path == "cxpulse score" and p.name == "level")
    command = next(c for path, c, p in PARAMETERS if p is level)
    assert quick_value(level.type_descriptor, "2", level, Context(command)) is UNDECIDED
    with pytest.raises(BadParameter, match=r"less than or equal to 0\.999"):
        QuickCoercion(level.type_descriptor).coerce("2", param=level, ctx=Context(command))
