"""The import rules of design.md, checked on the source: one room, one job."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "frontdesk"


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        out.append((".".join(("frontdesk", *rel.parts)), path))
    return out


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else parts[-1]


MODULES = _modules()


def test_the_tree_is_found() -> None:
    rooms = {_room(m) for m, _ in MODULES}
    assert {"domain", "services", "storage", "providers", "api", "worker", "cli"} <= rooms


@pytest.mark.parametrize(("module", "path"), [m for m in MODULES if _room(m[0]) == "domain"],
                         ids=lambda v: str(v))
def test_domain_imports_only_the_standard_library_phonenumbers_and_itself(module: str,
                                                                          path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        assert (
            top in sys.stdlib_module_names
            or top == "phonenumbers"
            or name.startswith("frontdesk.domain")
        ), f"{module} imports {name}: domain/ is pure (design.md)"


@pytest.mark.parametrize(("module", "path"), MODULES, ids=lambda v: str(v))
def test_only_storage_imports_sqlalchemy_and_alembic(module: str, path: Path) -> None:
    if _room(module) == "storage":
        return
    for name in _imports(path):
        assert name.split(".")[0] not in {"sqlalchemy", "alembic", "psycopg"}, (
            f"{module} imports {name}: only storage/ talks to the database"
        )


@pytest.mark.parametrize(("module", "path"),
                         [m for m in MODULES if _room(m[0]) in {"providers", "receptionist"}],
                         ids=lambda v: str(v))
def test_providers_and_the_receptionist_never_touch_the_database(module: str,
                                                                 path: Path) -> None:
    for name in _imports(path):
        assert not name.startswith(("frontdesk.storage", "frontdesk.services",
                                    "frontdesk.api")), f"{module} imports {name}"


@pytest.mark.parametrize(("module", "path"),
                         [m for m in MODULES if _room(m[0]) in {"services", "domain", "storage"}],
                         ids=lambda v: str(v))
def test_inner_rooms_do_not_import_the_web_edge(module: str, path: Path) -> None:
    for name in _imports(path):
        assert name.split(".")[0] not in {"fastapi", "starlette", "uvicorn", "typer"}, (
            f"{module} imports {name}"
        )
        assert not name.startswith(("frontdesk.api", "frontdesk.cli", "frontdesk.bootstrap")), (
            f"{module} imports {name}: only bootstrap wires rooms together"
        )


def test_domain_reads_no_clock() -> None:
    for module, path in MODULES:
        if _room(module) != "domain":
            continue
        text = path.read_text()
        for call in ("datetime.now(", "time.time(", "date.today(", "datetime.utcnow("):
            assert call not in text, f"{module} reads the clock ({call}): pass `now` in"
