"""Code that runs inside framework environments: it imports nothing of the engine."""
