"""Receptionist-flow tests use the shared ``env`` fixture from tests/conftest.py."""
