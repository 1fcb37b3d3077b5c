"""The HTTP edge: parse, authenticate, call one service, commit, render (api.md)."""
