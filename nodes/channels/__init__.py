"""Channel layout: downmix, pick and merge channels."""
