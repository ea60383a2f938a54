"""Admin for billing usage."""
