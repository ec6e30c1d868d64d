"""Sources: audio made from parameters alone, or read from files and pictures."""
