"""Frontdesk: compliant SMS for an AI receptionist."""

__version__ = "0.1.0"
