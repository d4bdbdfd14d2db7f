"""The developer portal: Setup > API/Developers, Webhooks, OAuth apps (docs/portal.md)."""
