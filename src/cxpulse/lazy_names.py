"""Package attributes imported on first use, so that importing a package stays cheap.

``cxpulse score`` pays for every import at start-up (docs/benchmarks.md): ``engine`` and
``metrics`` name their public API in ``__init__`` but load a submodule only when a name from it
is first asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(
    package: str, names: Mapping[str, str], space: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``names`` maps an attribute to its submodule;
    a loaded value is kept in ``space`` (the package's globals) so the lookup runs once."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        space[name] = value
        return value

    return __getattr__
