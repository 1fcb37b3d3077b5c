"""Carrier adapters. Providers speak to carriers; they never touch the database."""
