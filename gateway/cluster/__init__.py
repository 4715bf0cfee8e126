"""More than one gateway: the active lease in PostgreSQL and its fence."""
