"""Persistence: the only room that imports SQLAlchemy.

Models, the unit of work, tenant-scoped repositories, the hot claim/finish SQL
and the Alembic migrations live here. Every query that touches tenant data goes
through :class:`TenantScope`, which adds the tenant filter itself.
"""
