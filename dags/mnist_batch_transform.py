"""
### Script-mode training and batch transform of MNIST digits

The seed "script-mode training + batch transform": train your own entry-point script (a small
scikit-learn neural network, `include/training_scripts/mnist_classifier/train.py`) in SageMaker's
scikit-learn framework image, then classify the test digits with a batch transform job instead of an
endpoint, and measure the predictions against the true labels.

1. **plan_run** — names every SageMaker resource of this run (unique per run, valid, passed downstream
   through XCom), reads the bucket, role and region (Airflow Variables `sagemaker_bucket`,
   `sagemaker_role_arn`, `sagemaker_region`; local defaults otherwise) and settles the hyperparameters:
   the params as given, or — when *sweep_grid* is set — overridden by the grid point the run's logical
   date picks (`include/sweeps/grid.py`: one point per weekly period after *sweep_start*, wrapping around).
2. **ingest_training_data** — the train and validation splits as CSV (label first);
   **ingest_test_data** — the test split as CSV with labels and as features only (the transform input).
3. **upload_source_dir** — packs the script's directory as `sourcedir.tar.gz` under the run's S3 prefix.
4. **train** — a script-mode training job: the framework image runs `train.py` with the hyperparameters
   as command-line arguments and the channels in `SM_CHANNEL_TRAIN` / `SM_CHANNEL_VALIDATION`; it
   reports `train:accuracy` and `validation:accuracy`. **register_model** records the model in the
   `mnist-script-mode` model package group, with the environment that serves it (the entry point and
   its source directory), so a model deployed from the package loads the script's `model_fn`.
5. **batch_transform** — creates the model (served by the script's `model_fn` / `input_fn` /
   `predict_fn` / `output_fn`) and a transform job over the test digits: one CSV line per digit in, one
   predicted digit per line out, in `<input>.out` objects under the run's prefix.
6. **collect_predictions** — reads the `.out` objects back and pairs each prediction, in order, with the
   digit's true label.
7. **classification_report** — accuracy, per-digit precision, recall and F1, the confusion matrix and
   the misclassified digits, as `report.html` and `metrics.json` under the run's S3 prefix.
8. **record_leaderboard** — appends the run (hyperparameters, accuracy, macro F1, the script's
   `train:accuracy` and `validation:accuracy`, run id, logical date, report) to the shared leaderboard
   `s3://<bucket>/leaderboards/mnist-batch-transform/`, one object per run, and rewrites its
   `leaderboard.json`, `.csv` and `.html` ranked by accuracy.
9. **teardown** — deletes the model whatever happened before; a failed run still ends failed.

**Sweeping by backfill.** With a grid in *sweep_grid* (over hidden_units, max_iter and alpha), each run
of a backfill takes the next point:

    airflow backfill create --dag-id mnist_batch_transform --from-date 2026-01-01 --to-date 2026-01-21 \
        --dag-run-conf '{"sweep_grid": {"hidden_units": [32, 64, 128]}}' --max-active-runs 3

runs the Sundays 4, 11 and 18 January with 32, 64 and 128 hidden units, all on one leaderboard.

Runs offline against the local SageMaker engine (the script runs with the project's own Python
environment there), or on AWS when the `aws_default` connection points there. Retries are safe: a
retried task reuses what its first try created.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import Param, Variable, dag, task

from include.sagemaker_requests import batch_transform, configs, script_mode
from include.sagemaker_requests.deployment import deployment
from include.sagemaker_requests.image_uris import image_uri
from include.sagemaker_requests.names import run_names
from include.sagemaker_requests.source_dir import ARCHIVE_NAME
from include.sweeps.entries import report_entry
from include.training_scripts import (
    MNIST_CLASSIFIER,
    MNIST_CLASSIFIER_ENTRY_POINT,
    MNIST_CLASSIFIER_METRICS,
)
from operators.classification_report import ClassificationReportOperator
from operators.leaderboard import LeaderboardOperator
from operators.mnist_to_s3 import MnistToS3Operator, mnist_source_param
from operators.sagemaker_cleanup import SageMakerCleanupOperator
from operators.sagemaker_register import RegisterModelVersionOperator
from operators.sagemaker_resumable import ResumableTrainingOperator
from operators.sagemaker_resumable_transform import ResumableTransformOperator
from operators.sweep_params import run_sweep, sweep_params

MODEL_PACKAGE_GROUP = "mnist-script-mode"
LEADERBOARD = "mnist-batch-transform"
SCHEDULE = "@weekly"
START_DATE = datetime(2026, 1, 1)
# The params a sweep grid may override; they are the script's arguments (--hidden-units, ...).
SWEPT_PARAMS = ("hidden_units", "max_iter", "alpha")
DIGITS = [str(digit) for digit in range(10)]
CSV = "text/csv"


@dag(
    dag_id="mnist_batch_transform",
    dag_display_name="Script mode + batch transform on MNIST",
    schedule=SCHEDULE,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=4,
    doc_md=__doc__,
    tags=["sagemaker", "mnist", "script-mode", "batch-transform", "classification"],
    default_args={"owner": "ml-platform", "retries": 2, "retry_delay": timedelta(seconds=20)},
    params={
        "source": mnist_source_param(),
        "hidden_units": Param(
            64,
            type="integer",
            minimum=1,
            maximum=4096,
            title="Hidden units",
            description="Width of the network's one hidden layer (script argument --hidden-units).",
        ),
        "max_iter": Param(
            20,
            type="integer",
            minimum=1,
            maximum=1000,
            title="Epochs",
            description="Passes of the Adam solver over the training data (script argument --max-iter).",
        ),
        "alpha": Param(
            0.0001,
            type="number",
            minimum=0,
            title="L2 penalty",
            description="Weight decay of the network (script argument --alpha).",
        ),
        "instance_type": Param(
            "ml.m5.large",
            type="string",
            pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$",
            title="Training instance type",
            description="For the training job.",
        ),
        "transform_instance_type": Param(
            "ml.m5.large",
            type="string",
            pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$",
            title="Transform instance type",
            description="For the batch transform job.",
        ),
        "max_payload_mb": Param(
            6,
            type="integer",
            minimum=1,
            maximum=100,
            title="Max payload (MB)",
            description="Largest request the transform sends to the model; digits are packed into "
            "requests up to this size.",
        ),
        "batch_strategy": Param(
            "MultiRecord",
            enum=["MultiRecord", "SingleRecord"],
            title="Batch strategy",
            description="MultiRecord packs as many digits as fit in a request; SingleRecord sends one each.",
        ),
        **sweep_params(START_DATE, SWEPT_PARAMS, example={"hidden_units": [32, 64, 128]}),
    },
    render_template_as_native_obj=True,
)
def mnist_batch_transform():
    @task(multiple_outputs=True)
    def plan_run(dag=None, dag_run=None, params=None) -> dict:
        """Name this run's resources, read where it deploys and settle its hyperparameters."""
        target = deployment(lambda name, default: Variable.get(name, default=default))
        names = run_names(dag_run.dag_id, dag_run.run_id)
        prefix = f"s3://{target.bucket}/{names.s3_prefix}"
        sweep = run_sweep(SWEPT_PARAMS, SCHEDULE, dag=dag, dag_run=dag_run, params=params)
        source_dir = f"{prefix}/code/{ARCHIVE_NAME}"
        return {
            **target.to_dict(),
            **names.to_dict(),
            "hyperparameters": sweep["values"],
            "sweep_index": sweep["index"],
            "transform_job": f"{names.training_job}-transform",
            "image": image_uri("sklearn", target.region),
            "source_dir": source_dir,
            # What serves the trained model: the model and the registered package both carry it.
            "serving_environment": script_mode.serving_environment(
                MNIST_CLASSIFIER_ENTRY_POINT, source_dir, target.region
            ),
            "output_path": f"{prefix}/models",
            "transform_output": f"{prefix}/transform",
            "report_prefix": f"{prefix}/report",
            "predictions": f"{prefix}/validation/predictions.npz",
        }

    run = plan_run()

    ingest_training_data = MnistToS3Operator(
        task_id="ingest_training_data",
        source="{{ params.source }}",
        s3_bucket=run["bucket"],
        s3_prefix=run["s3_prefix"],
        formats=["csv"],
        splits=["train", "validation"],
        create_bucket=True,
    )
    ingest_test_data = MnistToS3Operator(
        task_id="ingest_test_data",
        source="{{ params.source }}",
        s3_bucket=run["bucket"],
        s3_prefix=run["s3_prefix"],
        formats=["csv", "csv-features"],
        splits=["test"],
        create_bucket=True,
    )

    @task
    def upload_source_dir(run: dict) -> str:
        """Pack the entry point's directory as sourcedir.tar.gz and put it under the run's prefix."""
        from include.sagemaker_requests.source_dir import pack_source_dir

        archive = pack_source_dir(MNIST_CLASSIFIER, MNIST_CLASSIFIER_ENTRY_POINT)
        bucket, key = S3Hook.parse_s3_url(run["source_dir"])
        S3Hook().load_bytes(archive, key, bucket, replace=True)
        return run["source_dir"]

    source_dir = upload_source_dir(run)

    @task
    def training_request(run: dict, data: dict, source_dir: str, params=None) -> dict:
        """The CreateTrainingJob request of this run: the framework image running the entry point."""
        csv = data["outputs"]["csv"]
        request = configs.training_job(
            name=run["training_job"],
            image=run["image"],
            role_arn=run["role_arn"],
            channels=[
                configs.s3_channel("train", csv["train"]["s3_uri"], CSV),
                configs.s3_channel("validation", csv["validation"]["s3_uri"], CSV),
            ],
            output_path=run["output_path"],
            hyperparameters=script_mode.hyperparameters(
                MNIST_CLASSIFIER_ENTRY_POINT,
                source_dir,
                # The script's arguments are the params' names with dashes.
                {name.replace("_", "-"): value for name, value in run["hyperparameters"].items()},
                region=run["region"],
                job_name=run["training_job"],
            ),
            instance_type=params["instance_type"],
        )
        request["AlgorithmSpecification"]["MetricDefinitions"] = MNIST_CLASSIFIER_METRICS
        return request

    train = ResumableTrainingOperator(
        task_id="train",
        config=training_request(run, ingest_training_data.output, source_dir),
        print_log=True,
        check_interval=5,
    )
    model_data = "{{ ti.xcom_pull(task_ids='train')['Training']['ModelArtifacts']['S3ModelArtifacts'] }}"

    register_model = RegisterModelVersionOperator(
        task_id="register_model",
        image_uri=run["image"],
        model_url=model_data,
        environment=run["serving_environment"],
        package_group_name=MODEL_PACKAGE_GROUP,
        package_group_desc="MNIST digit classifiers trained in script mode",
        package_desc="{{ run_id }}",
    )

    @task
    def transform_request(run: dict, train: dict, source_dir: str, test_data: dict, params=None) -> dict:
        """CreateModel and CreateTransformJob requests: classify the features-only test digits."""
        return {
            "Model": script_mode.model(
                name=run["model"],
                image=run["image"],
                model_data_url=train["Training"]["ModelArtifacts"]["S3ModelArtifacts"],
                role_arn=run["role_arn"],
                entry_point=MNIST_CLASSIFIER_ENTRY_POINT,
                source_dir_uri=source_dir,
                region=run["region"],
            ),
            "Transform": batch_transform.transform_job(
                name=run["transform_job"],
                model_name=run["model"],
                input_uri=test_data["outputs"]["csv-features"]["test"]["s3_uri"],
                output_path=run["transform_output"],
                content_type=CSV,
                accept=CSV,
                split_type="Line",
                assemble_with="Line",
                batch_strategy=params["batch_strategy"],
                max_payload_mb=params["max_payload_mb"],
                instance_type=params["transform_instance_type"],
            ),
        }

    transform = ResumableTransformOperator(
        task_id="batch_transform",
        config=transform_request(run, train.output, source_dir, ingest_test_data.output),
        check_interval=5,
    )

    @task
    def collect_predictions(run: dict, test_data: dict, transform: dict) -> str:
        """Pair each transform output line with its digit's true label; store them for the report."""
        from include.inference.batch_predictions import pair_transform_output, predictions_npz

        s3 = S3Hook()
        bucket = run["bucket"]
        job = transform["Transform"]
        test = test_data["outputs"]

        def read(uri: str) -> bytes:
            object_bucket, key = S3Hook.parse_s3_url(uri)
            return s3.get_key(key, object_bucket).get()["Body"].read()

        labelled = [(key, read(f"s3://{bucket}/{key}")) for key in test["csv"]["test"]["keys"]]
        outputs = [
            batch_transform.output_uri(
                f"s3://{bucket}/{key}",
                job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"],
                job["TransformOutput"]["S3OutputPath"],
            )
            for key in test["csv-features"]["test"]["keys"]
        ]
        images, labels, predictions = pair_transform_output(labelled, [(uri, read(uri)) for uri in outputs])
        predictions_bucket, predictions_key = S3Hook.parse_s3_url(run["predictions"])
        s3.load_bytes(
            predictions_npz(images, labels, predictions), predictions_key, predictions_bucket, replace=True
        )
        return run["predictions"]

    predictions = collect_predictions(run, ingest_test_data.output, transform.output)
    report = ClassificationReportOperator(
        task_id="classification_report",
        predictions_s3_uri=predictions,
        report_s3_prefix=run["report_prefix"],
        title="Script-mode classifier, batch transform of MNIST — {{ run_id }}",
        class_names=DIGITS,
    )

    @task
    def leaderboard_entry(run: dict, train: dict, report: dict) -> dict:
        """This run's leaderboard row: its hyperparameters, accuracy and the script's metrics."""
        return report_entry(
            train["Training"],
            run["hyperparameters"],
            report,
            ("accuracy", "macro_f1"),
            sweep_point=run["sweep_index"],
        )

    LeaderboardOperator(
        task_id="record_leaderboard",
        bucket=run["bucket"],
        leaderboard=LEADERBOARD,
        entries=leaderboard_entry(run, train.output, report.output),
        metric="accuracy",
        direction="maximize",
    )

    teardown = SageMakerCleanupOperator(task_id="teardown", model_name=run["model"])

    train >> register_model
    report >> teardown.as_teardown(setups=[transform])


mnist_batch_transform()
