"""The store: tables, the database handle, and migrations."""
