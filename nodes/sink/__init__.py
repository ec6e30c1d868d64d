"""Sinks: nodes that write files."""
