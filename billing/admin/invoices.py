"""Admin for billing invoices."""
