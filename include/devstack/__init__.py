"""A complete local Airflow (api-server, scheduler, dag-processor, triggerer) plus the local SageMaker
engine, started in the background and stopped by PID: what ``make up`` / ``make down`` run."""
