"""Pictures and sound: play images as spectrograms, draw sounds as images."""
