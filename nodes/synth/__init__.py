"""Synth voices: notes rendered to audio."""
