"""Every example in a docstring of the four packages runs, so none can go stale unnoticed.

The modules are found on disk (as tests/test_exported_members.py finds them); a
module without examples costs nothing. The Dash app is created first, because the
dashboard's pages register themselves with it on import.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("surveys", "models", "collector", "dashboard")
MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for package in PACKAGES
    for path in (ROOT / package).rglob("*.py")
    if "migrations" not in path.parts and ">>>" in path.read_text(encoding="utf-8")
)


@pytest.fixture(scope="module", autouse=True)
def _pages_registered() -> None:
    from dashboard.app import create_dash_app

    create_dash_app()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has '>>>' but doctest found no example"
    assert result.failed == 0
