"""PostgreSQL and Redis from Debian's packages, run on 127.0.0.1 as processes of the stack (no Docker):
the metadata database and the Celery broker of the scaled-out topology."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from include.devstack.processes import ProcessSpec, as_account

POSTGRES = "postgres"
REDIS = "redis"
DATABASE = "airflow"
DATABASE_USER = "airflow"
# PostgreSQL refuses to run as root; as root the server runs as the account Debian's package creates.
POSTGRES_ACCOUNT = "postgres"
# SIGTERM is PostgreSQL's "smart" shutdown, which waits for every client to leave; SIGINT ends sessions.
POSTGRES_STOP_SIGNAL = signal.SIGINT


class ServiceError(RuntimeError):
    """A database or broker server could not be prepared."""


def _postgres_bin_dir() -> Path:
    """Debian keeps the server binaries in /usr/lib/postgresql/<major>/bin; the newest one wins."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda path: int(path.parts[-3])
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("postgres")
    if found is None:
        raise ServiceError(
            "PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/postgres and no `postgres` on PATH. "
            "Run `make system-packages` (apt-get install postgresql)."
        )
    return Path(found).resolve().parent


def postgres_runs_as() -> str | None:
    """The account the server runs as: ``postgres`` when we are root, else ourselves (None)."""
    return POSTGRES_ACCOUNT if os.geteuid() == 0 else None


def init_postgres(data_dir: Path, password: str) -> None:
    """Create the cluster in ``data_dir`` (once) with a password-protected superuser ``airflow``."""
    if (data_dir / "PG_VERSION").exists():
        return
    account = postgres_runs_as()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    password_file = data_dir.parent / "initdb-password"
    password_file.touch(mode=0o600)
    password_file.write_text(password)
    if account:
        for path in (data_dir.parent, data_dir, password_file):
            shutil.chown(path, account, account)
    initdb = [
        str(_postgres_bin_dir() / "initdb"),
        "--pgdata", str(data_dir),
        "--username", DATABASE_USER,
        "--pwfile", str(password_file),
        "--auth", "scram-sha-256",
        "--encoding", "UTF8",
        "--locale", "C",
        "--no-sync",
    ]  # fmt: skip
    try:
        completed = subprocess.run(
            initdb,
            cwd=data_dir.parent,
            capture_output=True,
            text=True,
            check=False,
            **as_account(account),
        )
    finally:
        password_file.unlink(missing_ok=True)
    if completed.returncode != 0:
        raise ServiceError(
            f"initdb failed for {data_dir} (exit {completed.returncode}); every parent directory must be "
            f"readable by {account or 'this user'}:\n{completed.stderr[-2000:]}"
        )


def postgres_spec(data_dir: Path, port: int) -> ProcessSpec:
    """The server on 127.0.0.1:``port`` only, with no Unix socket, fsync off (throwaway data)."""
    argv = [
        str(_postgres_bin_dir() / "postgres"),
        "-D", str(data_dir),
        "-h", "127.0.0.1",
        "-p", str(port),
        "-k", "",
        "-c", "fsync=off",
        "-c", "max_connections=200",
    ]  # fmt: skip
    return ProcessSpec(POSTGRES, argv, user=postgres_runs_as())


def postgres_url(port: int, password: str, database: str = DATABASE, driver: str = "psycopg2") -> str:
    return f"postgresql+{driver}://{DATABASE_USER}:{password}@127.0.0.1:{port}/{database}"


def _connect(port: int, password: str, database: str):
    import psycopg2

    return psycopg2.connect(
        host="127.0.0.1", port=port, user=DATABASE_USER, password=password, dbname=database, connect_timeout=3
    )


def postgres_accepts(port: int, password: str) -> bool:
    import psycopg2

    try:
        _connect(port, password, "postgres").close()
    except psycopg2.OperationalError:
        return False
    return True


def create_database(port: int, password: str, name: str = DATABASE) -> None:
    """``CREATE DATABASE name`` unless it exists."""
    connection = _connect(port, password, "postgres")
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()


def query_postgres(port: int, password: str, sql: str, database: str = DATABASE) -> list[tuple]:
    """Rows of one read-only query against the stack's database."""
    connection = _connect(port, password, database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        connection.close()


def redis_spec(data_dir: Path, port: int) -> ProcessSpec:
    """A broker on 127.0.0.1:``port`` that persists nothing: queued work dies with the stack."""
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        raise ServiceError(
            "redis-server is not installed. Run `make system-packages` (apt-get install redis-server)."
        )
    argv = [
        redis_server,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--save", "",
        "--appendonly", "no",
        "--dir", str(data_dir),
        "--daemonize", "no",
    ]  # fmt: skip
    return ProcessSpec(REDIS, argv)


def redis_url(port: int) -> str:
    return f"redis://127.0.0.1:{port}/0"


def redis_answers(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).ping())
    except redis.exceptions.ConnectionError:
        return False
