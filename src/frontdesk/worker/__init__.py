"""Delivery loops only: claim, re-check and hand off via services; periodic housekeeping."""
