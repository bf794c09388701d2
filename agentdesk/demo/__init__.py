"""AgentDesk demo layer."""
