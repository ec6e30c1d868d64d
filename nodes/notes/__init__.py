"""Note events: scales, chords, progressions and sequences."""
