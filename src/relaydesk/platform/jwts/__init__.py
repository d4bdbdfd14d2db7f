"""JWTs for v3 API keys: ``POST /api/v3/jwts`` exchanges a key for a short-lived ES256 JWT
(RFC 9068 ``at+jwt``), ``/.well-known/jwks.json`` publishes the public keys, ``GET /api/v3/me``
shows any v3 caller's principal (docs/auth.md)."""
