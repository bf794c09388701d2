"""What the desktop remembers between runs: the last server and user (QSettings), and, only if the person
asks for it and the system has a keyring, their password (in the keyring, never in a file).

QSettings are kept as an INI file in AgentDesk's config folder (``$AGENTDESK_CONFIG_DIR`` overrides it), so
tests and several installations never share them by accident. Keyring calls can be slow (a D-Bus round trip
or a locked wallet), so callers run them off the GUI thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from PySide6.QtCore import QSettings

log = logging.getLogger(__name__)

KEYRING_SERVICE = "AgentDesk"
EMBEDDED = "embedded"  # the server key of the database on this computer
MAX_RECENT_SERVERS = 5


def _config_dir() -> Path:
    override = os.environ.get("AGENTDESK_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_config_path("agentdesk")


def qsettings() -> QSettings:
    return QSettings(str(_config_dir() / "desktop.ini"), QSettings.Format.IniFormat)


def last_server() -> str:
    value = qsettings().value("signin/server", EMBEDDED)
    return str(value) if value else EMBEDDED


def last_user() -> str:
    return str(qsettings().value("signin/user", "") or "")


def recent_servers() -> list[str]:
    """Shared server URLs used before (newest first), without passwords."""
    value = qsettings().value("signin/recent_servers", [])
    values: list[object] = [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
    return [str(v) for v in values if v and str(v) != EMBEDDED]


def remember_sign_in(server: str, user: str) -> None:
    settings = qsettings()
    settings.setValue("signin/server", server)
    settings.setValue("signin/user", user)
    if server != EMBEDDED:
        servers = [server] + [s for s in recent_servers() if s != server]
        settings.setValue("signin/recent_servers", servers[:MAX_RECENT_SERVERS])
    settings.sync()


def password_remembered(server: str, user: str) -> bool:
    return bool(qsettings().value(f"keyring/{_account(server, user)}", False, type=bool))


def _account(server: str, user: str) -> str:
    return f"{user}@{server}"


def keyring_available() -> bool:
    """Whether a real keyring backend exists (the 'fail' and 'null' backends do not count). Slow: off-thread."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception:  # a broken keyring install must never stop a sign-in
        log.warning("keyring unavailable", exc_info=True)
        return False
    name = type(backend).__module__
    return not isinstance(backend, fail.Keyring) and not name.endswith(".null")


def stored_password(server: str, user: str) -> str | None:
    """The password kept in the keyring for this server and user, if the person asked to remember it."""
    if not password_remembered(server, user):
        return None
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, _account(server, user))
    except Exception:
        log.warning("could not read the keyring", exc_info=True)
        return None


def store_password(server: str, user: str, password: str | None) -> bool:
    """Keep (or, with None, forget) the password in the keyring; False if the keyring refused."""
    settings = qsettings()
    key = f"keyring/{_account(server, user)}"
    try:
        import keyring

        if password is None:
            if settings.value(key, False, type=bool):
                # Nothing stored, or the keyring is gone: forgetting still succeeds.
                with contextlib.suppress(Exception):
                    keyring.delete_password(KEYRING_SERVICE, _account(server, user))
            settings.remove(key)
            return True
        keyring.set_password(KEYRING_SERVICE, _account(server, user), password)
    except Exception:
        log.warning("could not write the keyring; the password is not remembered", exc_info=True)
        settings.remove(key)
        return False
    settings.setValue(key, True)  # only a flag: the secret itself lives in the keyring
    settings.sync()
    return True
