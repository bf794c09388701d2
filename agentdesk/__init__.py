"""AgentDesk: a retention desk for call centres."""

__version__ = "0.1.0"
