"""AgentDesk billing layer."""
