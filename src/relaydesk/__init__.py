"""Relaydesk: a self-hosted customer-engagement server with a RapidPro-compatible API."""

__version__ = "0.1.0"
