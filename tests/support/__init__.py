"""Helpers the test suites share, imported as ``tests.support.<module>`` (the repository root is on
``sys.path`` through pytest's ``pythonpath``; fixtures stay in each suite's ``conftest.py``).

- ``dags``: load a DAG, the fast-DAG helper (1-second polling), what a run left deployed, S3 JSON.
- ``engine``: the engine's test constants, the tiny test algorithm, jobs, endpoints and waits.
- ``kmeans_jobs``: small k-means jobs on three well-separated blobs.
- ``script_mode``: running and serving the MNIST entry points in their framework environments.
- ``report_dags``: small DAGs whose runs leave reports, for the reports UI tests.
- ``browser``: a headless Chromium for the UI tests.
- ``recordio_wire_reference``: an independent recordIO-protobuf encoder the codec is checked against.
- ``request_comparison``: comparing a DAG's SageMaker requests with the SDK's.
"""
