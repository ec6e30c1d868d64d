"""Spectral transforms: STFT and what derives from it."""
