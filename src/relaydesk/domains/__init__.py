"""Business domains: one package each (router → service → repository, schemas beside them)."""
