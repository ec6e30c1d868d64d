"""Tuning systems: equal, just, harmonic and Scala scales as frequency tables."""
