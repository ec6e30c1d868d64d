"""Filters: biquads and Butterworth designs, streaming."""
