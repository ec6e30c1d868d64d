"""Metrics: compare a signal with a reference."""
