"""The headless core never pulls in Qt: services, the CLI (every subcommand), billing, PDF and the demo data
can run on a server with no display and no PySide6 loaded."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

HEADLESS_PACKAGES = ("services", "cli", "billing", "pdf", "db", "demo", "domain")
HEADLESS_MODULES = ("agentdesk.bootstrap", "agentdesk.config", "agentdesk.embedded")


def headless_modules() -> list[str]:
    names = list(HEADLESS_MODULES)
    for package in HEADLESS_PACKAGES:
        names.append(f"agentdesk.{package}")
        module = importlib.import_module(f"agentdesk.{package}")
        names += [f"agentdesk.{package}.{m.name}" for m in pkgutil.iter_modules(module.__path__)]
    return sorted(set(names))


def loaded_after(code: str) -> list[str]:
    """Top-level Qt modules loaded by a fresh interpreter after running `code`."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'PySide6')))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_headless_modules_are_found() -> None:
    names = headless_modules()
    assert {"agentdesk.services.users", "agentdesk.cli.demo_cmd", "agentdesk.cli.db_cmd",
            "agentdesk.demo.data"} <= set(names)
    assert not any(name.startswith("agentdesk.gui") for name in names)


def test_importing_services_cli_and_core_loads_no_qt() -> None:
    imports = "import importlib\n" + "".join(f"importlib.import_module({n!r})\n" for n in headless_modules())
    # build_parser() imports and registers every subcommand module, as `agentdesk --help` does.
    assert loaded_after(imports + "from agentdesk.cli import build_parser\nbuild_parser()\n") == []


def test_the_check_would_see_qt() -> None:
    """The probe above can fail: the desktop's entry point does load PySide6."""
    assert "PySide6" in loaded_after("import agentdesk.gui.app")
