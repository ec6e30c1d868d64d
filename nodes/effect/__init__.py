"""Effects: one audio input transformed into one audio output."""
