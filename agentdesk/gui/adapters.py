"""Small bridges between the desktop and the layers below, for needs no service function covers exactly.

Each one only calls existing services or bootstrap helpers (no SQL here); they run on worker threads.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from agentdesk.gui.context import SignedInUser

if TYPE_CHECKING:
    from agentdesk.bootstrap import Database
    from agentdesk.config import Settings

log = logging.getLogger(__name__)


def signed_in_user(db: Database) -> SignedInUser:
    """Who signed in: display name, role and units from the user list. Refuses a login that is not an
    AgentDesk user (e.g. the server's superuser), since no screen would know what to offer it."""
    from agentdesk.bootstrap import ConnectionFailed
    from agentdesk.domain.errors import NotFound, PermissionDenied
    from agentdesk.services import users

    try:
        info = users.get_user(db, db.user)
    except (NotFound, PermissionDenied):
        raise ConnectionFailed(
            f"'{db.user}' is a database login but not an AgentDesk user: sign in with your own user name"
        ) from None
    if not info.active:
        raise ConnectionFailed(f"The user '{db.user}' is disabled: ask an administrator")
    return SignedInUser(info.name, info.display_name, info.role, tuple(info.units))


def ping(db: Database) -> None:
    """Check that the server answers: check a connection out of the pool (pre-ping tests it) and back."""
    with db.engine.connect():
        pass


def load_demo_if_empty(settings: Settings) -> bool:
    """On the embedded database, load the small demo set when there are no customers yet (True if loaded)."""
    try:
        from agentdesk.demo import data as demo_data
    except ImportError:  # the demo set is optional in a trimmed installation
        log.info("no demo data module; the embedded database stays empty")
        return False
    from agentdesk import bootstrap

    installer = bootstrap.connect_url(bootstrap.installer_url(settings))
    try:
        return bool(demo_data.load_small_demo(installer))
    finally:
        installer.dispose()
