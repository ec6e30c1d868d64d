"""Speech enhancement: noise reduction and echo cancellation."""
