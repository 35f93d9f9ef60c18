"""Vigil's persistent record: SQLite, one writer thread, readers on their own connections."""
