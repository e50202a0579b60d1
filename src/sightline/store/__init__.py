"""Serving DB: SQLAlchemy 2 tables, Alembic migrations and repositories."""
