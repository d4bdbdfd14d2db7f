"""Webhooks v3: event registry, transactional outbox, management, signed delivery."""
