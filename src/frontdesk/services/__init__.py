"""Use cases, one verb each. They take a unit of work, the time and ports; they never commit.

Services import ``frontdesk.domain`` and the storage unit of work's interface;
they never import SQLAlchemy themselves (tests/test_architecture.py).
"""
