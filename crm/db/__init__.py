"""Database tooling shared by the apps: fast bulk loading (`bulk`) and migration operations that keep a
busy PostgreSQL database writable while they run (`migration_operations`)."""
