"""SageMaker's framework images without Docker: each one a virtual environment with the framework release
the image carries and AWS's own training and serving toolkits (``catalog`` maps images to environments,
``environments`` builds them, ``container/`` runs inside them)."""
