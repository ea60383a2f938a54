"""Admin for billing subscriptions."""
