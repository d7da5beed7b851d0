"""The steps the MNIST workflows share, written once for every DAG in ``dags/``.

A DAG file tells its seed's story with these and keeps what is its own (its docstring, its
hyperparameters, its training request, its wiring):

- :mod:`~mnist_workflows.spec` — the frozen record of each DAG (id, image, swept params, leaderboard,
  metric, direction, package group) that the README's table and the tests read too;
- :mod:`~mnist_workflows.form` — the trigger form's shared params, in sections;
- :mod:`~mnist_workflows.planning` — the ``plan_run`` task factory;
- :mod:`~mnist_workflows.training` — ingest, the training request and task, model registration;
- :mod:`~mnist_workflows.deploy` — the ``deploy`` task group, its setups and its teardown;
- :mod:`~mnist_workflows.validation` — the ``validate`` task and the run's S3 reads and writes;
- :mod:`~mnist_workflows.transform` — batch transform jobs and the outputs they wrote per input;
- :mod:`~mnist_workflows.reports` — the clustering and classification report tasks;
- :mod:`~mnist_workflows.leaderboard` — the ``record_leaderboard`` step.

It sits above ``operators`` and ``include`` and below ``dags``: it imports both, and only DAG files
import it. Airflow's plugin loader skips it (``plugins/.airflowignore``): it holds no plugin.
"""
