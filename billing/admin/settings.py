"""Admin for billing settings."""
