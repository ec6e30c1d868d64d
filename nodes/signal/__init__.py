"""Signal plumbing: mixing, layering, joining, cutting, splitting and resampling."""
