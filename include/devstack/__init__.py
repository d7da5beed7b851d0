"""A complete local Airflow (api-server, scheduler, dag-processor, triggerer) plus the local SageMaker
engine, started in the background and stopped by PID: what ``make up`` / ``make down`` run. With
``executor="celery"`` it is the scaled-out topology of ``docker-compose.yaml`` without Docker: PostgreSQL,
Redis and a Celery worker join it, every server on 127.0.0.1."""
