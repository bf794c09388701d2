"""The password of every test login role (the template database creates them)."""

PASSWORD = "correct-horse-battery"
