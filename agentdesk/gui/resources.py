"""Where the desktop finds its icons and style sheet, and small helpers to load them (cached).

The resources folder is ``$AGENTDESK_RESOURCES`` when set, else ``resources/`` beside the installed
``agentdesk`` package (the repository layout), the same rule the PDF layer uses for its fonts.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from PySide6.QtGui import QIcon

import agentdesk


def resources_dir() -> Path:
    override = os.environ.get("AGENTDESK_RESOURCES")
    if override:
        return Path(override)
    return Path(agentdesk.__file__).resolve().parent.parent / "resources"


def icon_path(name: str) -> Path:
    return resources_dir() / "icons" / f"{name}.svg"


@functools.cache
def icon(name: str) -> QIcon:
    """The named icon from resources/icons (an empty icon if the file is missing: never crash on art)."""
    path = icon_path(name)
    return QIcon(str(path)) if path.exists() else QIcon()


def stylesheet() -> str:
    """The application style sheet (empty if the file is missing)."""
    path = resources_dir() / "styles" / "agentdesk.qss"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
