"""The domain layer stays pure: no SQLAlchemy, PySide6 or ReportLab, imported directly or indirectly."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import agentdesk.domain

FORBIDDEN = ("sqlalchemy", "PySide6", "reportlab", "psycopg2", "alembic")
DOMAIN_DIR = Path(agentdesk.domain.__file__).parent


def _modules() -> list[str]:
    return ["agentdesk.domain"] + [f"agentdesk.domain.{m.name}" for m in pkgutil.iter_modules([str(DOMAIN_DIR)])]


def test_the_expected_modules_exist() -> None:
    assert {"errors", "money", "periods", "discounts", "eligibility", "billing_math"} <= {
        m.rsplit(".", 1)[-1] for m in _modules()}


def test_importing_every_domain_module_loads_no_forbidden_package() -> None:
    # A fresh interpreter, so nothing the test runner imported (conftest pulls in SQLAlchemy) can hide a leak.
    script = (
        "import importlib, json, sys\n"
        f"for name in {_modules()!r}: importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def _forbidden_imports(source: str) -> list[str]:
    """Forbidden top-level packages imported anywhere in ``source`` (module level or inside functions)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found += [n for n in names if n.split(".")[0] in FORBIDDEN]
    return found


def test_no_domain_source_file_imports_a_forbidden_package() -> None:
    # Catches imports inside functions too, which the subprocess check would only see once they run.
    files = sorted(DOMAIN_DIR.rglob("*.py"))
    assert len(files) >= 7
    offenders = {path.name: _forbidden_imports(path.read_text(encoding="utf-8")) for path in files}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_scan_sees_imports_inside_functions() -> None:
    source = "import os\ndef f():\n    from sqlalchemy.orm import Session\n    import PySide6.QtCore as qc\n"
    assert _forbidden_imports(source) == ["sqlalchemy.orm", "PySide6.QtCore"]
