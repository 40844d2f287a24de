"""Every module of the four packages states its public surface in `__all__`:
sorted (as ruff's RUF022 sorts it: CONSTANTS, then Classes, then functions),
naming every public function, class and constant it defines, and only names
it defines or imports. As httpx's tests/test_exported_members.py, but read
from the source, so no module is imported for it (Dash pages register
themselves on import)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("surveys", "models", "collector", "dashboard")
MODULES = sorted(
    path.relative_to(ROOT)
    for package in PACKAGES
    for path in (ROOT / package).rglob("*.py")
    if "migrations" not in path.parts  # Tortoise's migration files, not a surface
)
# Bound at module level but no part of a surface: a type variable, a logger.
NOT_SURFACE_CALLS = {"TypeVar", "getLogger"}


def _order(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def _called(value: ast.expr | None) -> str | None:
    if isinstance(value, ast.Call):
        func = value.func
        return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    return None


def _surface(tree: ast.Module) -> tuple[list[str] | None, set[str], set[str]]:
    """(__all__, public names defined at the top level, every name bound there)."""
    exported: list[str] | None = None
    defined: set[str] = set()
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t for target in targets for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
            for target in names:
                if not isinstance(target, ast.Name):
                    continue
                if target.id == "__all__":
                    assert isinstance(node.value, ast.List | ast.Tuple)
                    exported = [ast.literal_eval(e) for e in node.value.elts]
                elif _called(node.value) not in NOT_SURFACE_CALLS:
                    defined.add(target.id)
                bound.add(target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    bound |= defined
    return exported, {name for name in defined if not name.startswith("_")}, bound


def test_every_package_is_walked() -> None:
    assert len(MODULES) > 50
    assert Path("models/sql.py") in MODULES and Path("models/migrations/0001_initial.py") not in MODULES


@pytest.mark.parametrize("module", MODULES, ids=str)
def test_all_is_sorted_and_complete(module: Path) -> None:
    exported, public, bound = _surface(ast.parse((ROOT / module).read_text(encoding="utf-8")))
    assert exported is not None, f"{module} has no __all__"
    assert exported == sorted(exported, key=_order), f"{module}: __all__ is not sorted"
    assert len(set(exported)) == len(exported), f"{module}: __all__ names a member twice"
    assert public <= set(exported), f"{module}: __all__ leaves out {sorted(public - set(exported))}"
    assert set(exported) <= bound, f"{module}: __all__ names what it neither defines nor imports: " \
                                   f"{sorted(set(exported) - bound)}"
