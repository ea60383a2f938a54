"""Admin for users, customer accounts and their API keys."""
