"""Admin for gateway tokens."""
