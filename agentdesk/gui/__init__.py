"""AgentDesk gui layer."""
