"""Statistics over the helpdesk's objects (``stats.chats``)."""
