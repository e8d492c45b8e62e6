"""The map in docs/architecture.md and the layer contract in pyproject.toml cover the code.

import-linter (run by scripts/test) checks that no stage imports a stage above it; these tests
check that the contract and the map name every package, so a new stage cannot slip past both.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "cxpulse"


def _top_level_names() -> set[str]:
    names = {
        path.name for path in PACKAGE.iterdir() if path.is_dir() and (path / "__init__.py").exists()
    }
    names |= {
        path.stem for path in PACKAGE.glob("*.py") if path.stem not in {"__init__", "__main__"}
    }
    return names


def _layered_names() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    names: set[str] = set()
    for layer in layers:
        for part in layer.replace("|", ":").split(":"):
            names.add(part.strip().removeprefix("cxpulse."))
    return names


def test_every_package_and_top_module_is_in_the_layer_contract() -> None:
    missing = _top_level_names() - _layered_names()
    assert not missing, f"add to [tool.importlinter] layers in pyproject.toml: {sorted(missing)}"


def test_the_layer_contract_names_only_what_exists() -> None:
    stale = _layered_names() - _top_level_names()
    assert not stale, f"layers name modules that do not exist: {sorted(stale)}"


def test_every_package_and_top_module_is_on_the_map() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = sorted(name for name in _top_level_names() if f"`{name}" not in text)
    assert not missing, f"docs/architecture.md does not describe: {missing}"


def test_every_module_path_the_docs_name_exists() -> None:
    # Docs name modules as `store/responses.py` (below src/cxpulse) or `bench/x.py` (below the
    # repository); a module moved without its docs fails here.
    named = re.compile(r"\b([a-z_]+(?:/[a-z_]+)*\.py)\b")
    missing = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for path in set(named.findall(page.read_text(encoding="utf-8"))):
            if "/" not in path:
                continue
            if not any((base / path).exists() for base in (PACKAGE, ROOT, PACKAGE / "web")):
                missing.append(f"{page.name}: {path}")
    assert sorted(missing) == []
