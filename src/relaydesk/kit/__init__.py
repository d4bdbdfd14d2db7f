"""Tiny generic helpers with no knowledge of the domain."""
