"""Pure decisions: facts and time in, decisions out. Nothing here does I/O or reads a clock."""
