"""SageMaker request builders: image URIs per region, per-run resource names, and the request dicts the
Amazon provider's operators take. Pure functions, no AWS calls, so DAGs stay declarative."""
