"""Outbound network helpers (SSRF guard for webhook delivery)."""
