"""Typer commands, thin: each calls bootstrap and a service."""
