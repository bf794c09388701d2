#!/usr/bin/env python3
"""AgentDesk's two-command quick start, for a machine that has only Python 3.11+.

    python3 dev.py app     install everything into .venv, then open the desktop app
                           (embedded PostgreSQL, demo data loaded on first run)
    python3 dev.py test    install everything (with test tools) into .venv, then run the whole test suite

Anything after the command is passed on: `python3 dev.py app --database-url postgresql://...`,
`python3 dev.py test -k queue`. Uses only the standard library.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
# Shared libraries Qt's offscreen/xcb platforms load; present on desktops, often missing on bare servers.
DEBIAN_QT_LIBS = [
    "libegl1", "libgl1", "libxkbcommon0", "libfontconfig1", "libdbus-1-3", "libglib2.0-0",
    "libxkbcommon-x11-0", "libxcb-cursor0", "libxcb-shape0", "libxcb-randr0", "libxcb-render-util0",
    "libxcb-image0",
]


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(extras: str) -> Path:
    python = venv_python()
    if not python.exists():
        print(f"dev.py: creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extras or 'app'}"
    pyproject = ROOT / "pyproject.toml"
    if not stamp.exists() or stamp.stat().st_mtime < pyproject.stat().st_mtime:
        print("dev.py: installing AgentDesk and its dependencies", flush=True)
        target = f".[{extras}]" if extras else "."
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-e", target], cwd=ROOT, check=True)
        stamp.touch()
    return python


def ensure_qt_system_libs() -> None:
    """On Debian/Ubuntu as root, install the few shared libraries Qt needs if they are missing."""
    if os.name == "nt" or sys.platform == "darwin" or not shutil.which("apt-get") or os.geteuid() != 0:
        return
    missing = [p for p in DEBIAN_QT_LIBS if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True).stdout.find("ok installed") < 0]
    if not missing:
        return
    print(f"dev.py: installing Qt system libraries: {' '.join(missing)}", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    ok = subprocess.run(["apt-get", "update", "-qq"], env=env).returncode == 0
    if not ok or subprocess.run(["apt-get", "install", "-y", "-qq", *missing], env=env).returncode != 0:
        print("dev.py: could not install them; Qt may fail to start (see README, 'System libraries')", flush=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("app", "test"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs before anything checks the version
        print("dev.py: AgentDesk needs Python 3.11 or newer", file=sys.stderr)
        return 2
    ensure_qt_system_libs()
    if command == "app":
        python = ensure_venv("")
        return subprocess.call([str(python), "-m", "agentdesk", *rest], cwd=ROOT)
    python = ensure_venv("test")
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    return subprocess.call([str(python), "-m", "pytest", *rest], cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
