"""Validation inference through a real-time endpoint, in request-sized batches."""
