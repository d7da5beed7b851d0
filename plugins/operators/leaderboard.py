"""``LeaderboardOperator``: append a run's entries to a shared leaderboard on S3 and re-render its views."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from include.sweeps.leaderboard import Leaderboard, append_entry, entry_id, publish, rank
from operators.report import ReportOperator


class S3EntryStore:
    """:class:`include.sweeps.leaderboard.EntryStore` over one S3 bucket, through ``S3Hook``."""

    def __init__(self, hook: S3Hook, bucket: str):
        self.hook = hook
        self.bucket = bucket

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.hook.get_conn().put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def keys(self, prefix: str) -> list[str]:
        return self.hook.list_keys(bucket_name=self.bucket, prefix=prefix)

    def get(self, key: str) -> bytes:
        # One GET; S3Hook.get_key would send a HEAD first.
        return self.hook.get_conn().get_object(Bucket=self.bucket, Key=key)["Body"].read()


class LeaderboardOperator(ReportOperator):
    """Append ``entries`` to the leaderboard ``s3://<bucket>/leaderboards/<leaderboard>/`` and rewrite its
    ``leaderboard.json``, ``leaderboard.csv`` and ``leaderboard.html`` from every entry stored there.

    Each entry becomes its own object ``entries/<dag>-<run token>-<position>.json``, so runs of any
    concurrency never overwrite each other, and a retry rewrites the same objects instead of adding rows.
    The run's ``dag_id``, ``run_id`` and ``logical_date`` are added to entries that lack them.

    An entry is ``{"hyperparameters": {...}, "metrics": {"test:msd": 1.2, ...}, ...}`` plus anything
    worth a column: ``training_job``, ``model_artifact``, ``report_uri`` (see
    :func:`include.sweeps.entries.training_entry`).

    The XCom result holds the S3 URIs of the views, the number of entries on the board, the keys this run
    wrote and ``run_best``, the best of this run's entries by ``metric`` (None if none has it).

    :param bucket: S3 bucket holding the leaderboard.
    :param leaderboard: its name (lowercase letters, digits, ``-``, ``_``), shared by every run writing it.
    :param entries: one entry or a list of them (templated; an XCom works).
    :param metric: the metric that ranks the entries, e.g. ``test:msd``.
    :param direction: ``minimize`` or ``maximize``.
    """

    template_fields: Sequence[str] = aws_template_fields("bucket", "leaderboard", "entries")
    ui_color = "#e3dcf5"

    def __init__(
        self,
        *,
        bucket: str,
        leaderboard: str,
        entries: list[dict] | dict,
        metric: str = "test:msd",
        direction: str = "minimize",
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.bucket = bucket
        self.leaderboard = leaderboard
        self.entries = entries
        # Checked here so a DAG with a bad direction fails to parse rather than at the end of a run.
        Leaderboard("check", metric, direction)
        self.metric = metric
        self.direction = direction

    def execute(self, context: Any) -> dict:
        board = Leaderboard(self.leaderboard, self.metric, self.direction)
        entries = [self.entries] if isinstance(self.entries, Mapping) else list(self.entries or [])
        if not entries:
            raise ValueError(
                f"No entries to append to leaderboard {self.leaderboard!r}; got {self.entries!r}"
            )
        dag_run = context["dag_run"]
        logical_date = dag_run.logical_date or dag_run.run_after
        run_context = {
            "dag_id": dag_run.dag_id,
            "run_id": dag_run.run_id,
            "logical_date": logical_date.isoformat() if logical_date else None,
        }
        store = S3EntryStore(self.hook, self.bucket)
        written = [
            append_entry(
                store, board, entry_id(dag_run.dag_id, dag_run.run_id, position), {**run_context, **entry}
            )
            for position, entry in enumerate(entries)
        ]
        document = publish(store, board)
        ranked_here = rank(entries, self.metric, self.direction)
        best = ranked_here[0] if ranked_here and ranked_here[0]["rank"] is not None else None
        self.log.info(
            "Appended %d entries to leaderboard %s (now %d); best of this run: %s",
            len(written),
            board.name,
            document["entries"],
            best,
        )
        base = f"s3://{self.bucket}/{board.prefix}"
        return {
            "json_uri": f"{base}/leaderboard.json",
            "csv_uri": f"{base}/leaderboard.csv",
            # The report operators' key, so the reports UI lists the leaderboard too.
            "report_s3_uri": f"{base}/leaderboard.html",
            "entries": document["entries"],
            "written": written,
            "run_best": best,
        }
