"""Sightline: an open, self-hosted customer-insights platform for banks and credit unions."""

__version__ = "0.1.0"
