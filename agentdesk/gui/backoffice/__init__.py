"""The back office of the desktop: approvals, accounting, invoices, billing runs, administration, dashboard.

The main window asks `pages(context)` for the screens of the signed-in user's role (agentdesk.gui.pages
keeps only those whose `roles` include it), and the screenshot script calls `screenshots(outdir, ...)` to
render every screen from demo data.

Which role sees what (the database enforces the same lines; hiding a page is a courtesy, not security):
    manager     Approvals, Dashboard, Discount definitions, Routing rules
    accounting  Accounting queue, Invoices, Billing runs
    admin       Discount definitions, Routing rules, Users and units, Company settings, Dashboard
    csr         nothing here
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from agentdesk.gui.context import AppContext

log = logging.getLogger(__name__)

# (module, class) in navigation order. Each class declares its own `roles`.
PAGE_CLASSES = (
    ("approvals_page", "ApprovalsPage"),
    ("accounting_page", "AccountingPage"),
    ("invoices_page", "InvoicesPage"),
    ("billing_page", "BillingRunsPage"),
    ("dashboard_page", "DashboardPage"),
    ("definitions_page", "DefinitionsPage"),
    ("routing_page", "RoutingPage"),
    ("users_page", "UsersPage"),
    ("settings_page", "SettingsPage"),
)


def page_classes(role: str) -> list[type[Any]]:
    """The page classes the role may use; a page whose module fails to import is left out (and logged), so
    one broken screen never takes the rest of the back office down."""
    found: list[type[Any]] = []
    for module_name, class_name in PAGE_CLASSES:
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
        except Exception:
            log.exception("back-office page %s could not be loaded", module_name)
            continue
        cls = getattr(module, class_name)
        if role in cls.roles:
            found.append(cls)
    return found


def pages(context: AppContext) -> list[QWidget]:
    """The back-office screens for the signed-in user's role, built but not loaded (they load when shown)."""
    return [cls(context) for cls in page_classes(context.user.role)]


def screenshots(outdir: Path, *args: Any, **kwargs: Any) -> list[Path]:
    """Render every back-office screen to PNG files in `outdir` (see agentdesk.gui.backoffice.shots)."""
    from agentdesk.gui.backoffice import shots

    return shots.render_all(Path(outdir), *args, **kwargs)


__all__ = ["PAGE_CLASSES", "page_classes", "pages", "screenshots"]
