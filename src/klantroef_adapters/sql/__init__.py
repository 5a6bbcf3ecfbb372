"""SQLAlchemy (async, Core) adapters over SQLite and MySQL/MariaDB."""
