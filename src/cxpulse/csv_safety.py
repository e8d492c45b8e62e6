"""Neutralise spreadsheet formulas in exported text cells.

A cell that starts with = + - @ (or a tab / carriage return that some spreadsheet programs
skip) is executed as a formula when the file is opened; a leading apostrophe makes it text.
"""

from __future__ import annotations

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    if value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
