"""The OAuth 2.0 authorization server's HTTP endpoints and consent page."""
