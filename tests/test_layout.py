"""The house's walls, read from the imports: each services package imports only those to its left.

The order is docs/architecture (and ../shared/reference/architecture.md):
core → knowledge → conversation → donors → roles → outreach → eligibility → drives → donations →
reminders, stats → the router (services/chat.py) and settings (services/config.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A package's rank; it may import packages of a lower rank only (its own modules too).
ORDER = {
    "core": 0,
    "knowledge": 1,
    "conversation": 2,
    "donors": 3,
    "roles": 4,
    "outreach": 5,
    "eligibility": 6,
    "drives": 7,
    "donations": 8,
    "reminders": 9,
    "stats": 9,
}
TOP = {"chat", "config"}  # services/chat.py and services/config.py: above every package
CHANNEL_LIBRARIES = {"telegram", "httpx", "starlette", "uvicorn"}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, with the line, as absolute dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # "from services.drives import citizen" imports services.drives.citizen
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def sources(folder: str) -> list[Path]:
    """The Python files under a top-level folder."""
    return sorted((ROOT / folder).rglob("*.py"))


def service_unit(dotted: str) -> str | None:
    """The package (or top module) of services a dotted name belongs to."""
    parts = dotted.split(".")
    if parts[0] != "services" or len(parts) < 2:
        return None
    return parts[1]


def is_module(dotted: str) -> bool:
    """Whether a dotted name is a module or package of this project (not a name inside one)."""
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def test_every_services_module_lives_in_a_package_of_the_order() -> None:
    stray = [
        path.relative_to(ROOT).as_posix()
        for path in sources("services")
        if path.parent.name not in ORDER
        and not (path.parent.name == "services" and path.stem in TOP | {"__init__"})
    ]
    assert stray == []


def test_a_package_imports_only_those_to_its_left() -> None:
    wrong = []
    for path in sources("services"):
        own = path.parent.name if path.parent.name != "services" else path.stem
        own_rank = ORDER.get(own, 100)
        for line, name in imported_modules(path):
            other = service_unit(name)
            if other is None or other == own or not is_module(name):
                continue
            rank = ORDER.get(other, 100)
            if rank >= own_rank:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert wrong == []


def test_services_know_no_channel_and_only_bot_py_imports_handlers() -> None:
    wrong = []
    for folder in ("services", "models", "scheduler", "handlers"):
        for path in sources(folder):
            for line, name in imported_modules(path):
                top = name.split(".")[0]
                if folder in ("services", "models") and top in CHANNEL_LIBRARIES | {"handlers"}:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
                if folder in ("models", "scheduler") and top == "handlers":
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
                if folder == "models" and top == "services":
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert wrong == []


def test_a_channel_imports_no_other_channel() -> None:
    wrong = []
    channels = [path.name for path in (ROOT / "handlers").iterdir() if path.is_dir()]
    for channel in channels:
        if channel.startswith("__"):
            continue
        for path in sources(f"handlers/{channel}"):
            for line, name in imported_modules(path):
                parts = name.split(".")
                if parts[0] == "handlers" and len(parts) > 1 and parts[1] != channel:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert wrong == []


def test_the_checker_sees_a_wrong_import() -> None:
    """The test above would fail on a package importing one to its right."""
    assert service_unit("services.drives.drive_store") == "drives"
    assert is_module("services.drives.drive_store")
    assert ORDER["drives"] > ORDER["donors"]
