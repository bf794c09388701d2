"""AgentDesk db layer."""
