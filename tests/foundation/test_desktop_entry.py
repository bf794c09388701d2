"""`agentdesk` with no command opens the desktop without importing every command's modules first."""

from __future__ import annotations

import subprocess
import sys

from agentdesk.cli import _desktop_args


def test_no_command_means_the_desktop_and_keeps_the_global_options() -> None:
    args = _desktop_args(["--database-url", "postgresql://db/agentdesk", "--user", "anna.csr"])
    assert args is not None and (args.database_url, args.user) == ("postgresql://db/agentdesk", "anna.csr")
    assert _desktop_args(["db", "status"]) is None
    assert _desktop_args(["--help"]) is None


def test_recognising_the_desktop_imports_no_command_module() -> None:
    probe = (
        "import sys; from agentdesk.cli import _desktop_args; assert _desktop_args([]) is not None; "
        "print(sorted(m for m in sys.modules if m.startswith(('alembic', 'agentdesk.cli.', 'reportlab'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
