"""OAuth 2.0 provider: clients, authorization codes, tokens (docs/auth.md#oauth-20)."""
