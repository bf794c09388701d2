"""AgentDesk pdf layer."""
