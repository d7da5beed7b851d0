"""The reports UI: lists the reports that report operators wrote to S3 and renders them inside Airflow.

The Airflow plugin itself is ``plugins/reports_plugin.py``. The plugin loader skips this package
(``plugins/.airflowignore``) so that FastAPI and the S3 hook load only in the api-server, on first use.
"""
