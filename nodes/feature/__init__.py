"""Feature extractors: frame-rate features and summary vectors."""
