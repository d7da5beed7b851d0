"""Reports of a run's validation inference: metrics as plain data, plus a self-contained HTML page."""
