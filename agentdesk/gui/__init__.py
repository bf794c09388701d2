"""AgentDesk's desktop (PySide6): the agent's screens; the back office lives in agentdesk.gui.backoffice.

pyproject pins PySide6 below 6.12: 6.12.0's void methods return None without a new reference on CPython
3.11, so a long session drains None's reference count and the interpreter aborts.
"""
