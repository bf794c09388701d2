"""Red-team tests: raw SQL over real connections as each application role."""
