"""Alembic migrations; one set serves SQLite (batch mode) and MySQL/MariaDB."""
