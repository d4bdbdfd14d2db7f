"""Developer-platform domains: tokens, OAuth, webhooks."""
