"""
### Linear Learner on MNIST: "is it a 0?"

The seed "Parquet → recordIO-protobuf → linear learner": store MNIST as Parquet, convert it to
recordIO-protobuf with the labels turned into a yes/no question — is this digit a 0? — and train
SageMaker's built-in Linear Learner as a binary classifier, then deploy it and measure it on test digits.

1. **plan_run** — names every SageMaker resource of this run (unique per run, valid, passed downstream
   through XCom), reads the bucket, role and region (Airflow Variables `sagemaker_bucket`,
   `sagemaker_role_arn`, `sagemaker_region`; local defaults otherwise) and settles the hyperparameters:
   the params as given, or — when *sweep_grid* is set — overridden by the grid point the run's logical
   date picks (`include/sweeps/grid.py`: one point per weekly period after *sweep_start*, wrapping around).
2. **ingest_mnist** — loads MNIST from the chosen source (the offline sample by default) and uploads the
   train, validation and test splits as Parquet (one string-named column per pixel plus `label`, one
   file per split, written with fastparquet).
3. **train_to_recordio**, **validation_to_recordio**, **test_to_recordio** — convert each Parquet file to
   recordIO-protobuf shards, mapping label 0 to 1.0 and every other digit to 0.0.
4. **train** — a Linear Learner training job with the seed's request (`binary_classifier`, absolute
   loss, 784 features, 32 candidate models, 10 epochs, mini-batches of 200) and the train and
   validation channels: the validation data stops each candidate early, tunes its decision threshold
   and picks the best candidate. **register_model** records the model in the `linear-learner-mnist`
   model package group.
5. **create_model → create_endpoint_config → create_endpoint** — deploy the model (setup tasks).
6. **validate** — sends the test digits to the endpoint as CSV and keeps each one's `predicted_label`
   and `score`.
7. **classification_report** — accuracy, precision and recall of "0" and of "not 0", the confusion matrix
   and the misclassified digits, as `report.html` and `metrics.json` under the run's S3 prefix. About
   90% of digits are not a 0, so accuracy alone says little: read the recall of "0".
8. **record_leaderboard** — appends the run (hyperparameters, accuracy, macro F1, the job's metrics, run
   id, logical date, report) to the shared leaderboard `s3://<bucket>/leaderboards/linear-learner-mnist/`,
   one object per run, and rewrites its `leaderboard.json`, `.csv` and `.html` ranked by accuracy.
9. **teardown** — deletes the endpoint, endpoint config and model whatever happened before (unless
   *keep_endpoint* is set); a failed run still ends failed.

**Sweeping by backfill.** With a grid in *sweep_grid* (over epochs, mini_batch_size, num_models and
model_selection_criteria), each run of a backfill takes the next point:

    airflow backfill create --dag-id linear_learner_mnist --from-date 2026-01-01 --to-date 2026-01-21 \
        --dag-run-conf '{"sweep_grid": {"mini_batch_size": [100, 200, 500]}}' --max-active-runs 3

runs the Sundays 4, 11 and 18 January with mini-batches of 100, 200 and 500, all on one leaderboard.

Runs offline against the local SageMaker engine, or on AWS when the `aws_default` connection points
there. Retries are safe: a retried task reuses what its first try created.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerRegisterModelVersionOperator
from airflow.sdk import Param, Variable, dag, task

from include.sagemaker_requests import configs
from include.sagemaker_requests.deployment import deployment
from include.sagemaker_requests.image_uris import image_uri
from include.sagemaker_requests.names import run_names
from include.sweeps.entries import report_entry
from operators.classification_report import ClassificationReportOperator
from operators.leaderboard import LeaderboardOperator
from operators.mnist_to_s3 import MnistToS3Operator, mnist_source_param
from operators.parquet_to_recordio import ParquetToRecordIOOperator
from operators.sagemaker_cleanup import SageMakerCleanupOperator
from operators.sagemaker_resumable import (
    ResumableEndpointConfigOperator,
    ResumableEndpointOperator,
    ResumableModelOperator,
    ResumableTrainingOperator,
)
from operators.sweep_params import run_sweep, sweep_params

MODEL_PACKAGE_GROUP = "linear-learner-mnist"
LEADERBOARD = "linear-learner-mnist"
SCHEDULE = "@weekly"
START_DATE = datetime(2026, 1, 1)
# The params a sweep grid may override; they are the job's hyperparameters (model_selection_criteria as
# binary_classifier_model_selection_criteria).
SWEPT_PARAMS = ("epochs", "mini_batch_size", "num_models", "model_selection_criteria")
SPLITS = ("train", "validation", "test")
LABEL_COLUMN = "label"
# The seed's question "is it a 0?": digit 0 is the positive class (1.0), every other digit 0.0.
IS_ZERO = {0: 1.0}
NOT_ZERO = 0.0
CLASS_NAMES = ["not 0", "0"]
# More rows than any MNIST split, so each split is one Parquet file, as in the seed.
PARQUET_ROWS_PER_FILE = 100_000
RECORDIO = "application/x-recordio-protobuf"
# The seed's loss: absolute loss on the 0/1 label, thresholded as any binary classifier's scores are.
LOSS = "absolute_loss"


@dag(
    dag_id="linear_learner_mnist",
    dag_display_name="Linear Learner on MNIST (is it a 0?)",
    schedule=SCHEDULE,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=4,
    doc_md=__doc__,
    tags=["sagemaker", "mnist", "linear-learner", "classification", "parquet"],
    default_args={"owner": "ml-platform", "retries": 2, "retry_delay": timedelta(seconds=20)},
    params={
        "source": mnist_source_param(),
        "mini_batch_size": Param(
            200,
            type="integer",
            minimum=1,
            maximum=100_000,
            title="Mini-batch size",
            description="Records per mini-batch of the optimizer (the seed uses 200).",
        ),
        "epochs": Param(
            10,
            type="integer",
            minimum=1,
            maximum=100,
            title="Epochs",
            description="Most passes over the training data (the seed makes 10); the validation data may "
            "stop earlier.",
        ),
        "num_models": Param(
            32,
            type="integer",
            minimum=1,
            maximum=32,
            title="Candidate models",
            description="Models trained side by side with different regularisation and learning rates "
            "(the seed trains 32); the best on the validation data is kept.",
        ),
        "model_selection_criteria": Param(
            "accuracy",
            enum=[
                "accuracy",
                "f_beta",
                "precision_at_target_recall",
                "recall_at_target_precision",
                "loss_function",
            ],
            title="Model selection criterion",
            description="What the decision threshold and the chosen candidate optimise on the validation "
            "data (binary_classifier_model_selection_criteria).",
        ),
        "instance_type": Param(
            "ml.m5.large",
            type="string",
            pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$",
            title="Instance type",
            description="For training and for the endpoint.",
        ),
        "validation_records": Param(
            1000,
            type="integer",
            minimum=10,
            maximum=10000,
            title="Validation records",
            description="How many test digits to send to the endpoint.",
        ),
        "keep_endpoint": Param(
            False,
            type="boolean",
            title="Keep the endpoint",
            description="Leave the endpoint running after the run (you pay for it on AWS).",
        ),
        **sweep_params(START_DATE, SWEPT_PARAMS, example={"mini_batch_size": [100, 200, 500]}),
    },
    render_template_as_native_obj=True,
)
def linear_learner_mnist():
    @task(multiple_outputs=True)
    def plan_run(dag=None, dag_run=None, params=None) -> dict:
        """Name this run's resources, read where it deploys and settle its hyperparameters."""
        target = deployment(lambda name, default: Variable.get(name, default=default))
        names = run_names(dag_run.dag_id, dag_run.run_id)
        prefix = f"s3://{target.bucket}/{names.s3_prefix}"
        sweep = run_sweep(SWEPT_PARAMS, SCHEDULE, dag=dag, dag_run=dag_run, params=params)
        return {
            **target.to_dict(),
            **names.to_dict(),
            "hyperparameters": sweep["values"],
            "sweep_index": sweep["index"],
            "image": image_uri("linear-learner", target.region),
            **{f"{split}_recordio": f"{prefix}/recordio/{split}/" for split in SPLITS},
            "output_path": f"{prefix}/models",
            "report_prefix": f"{prefix}/report",
            "predictions": f"{prefix}/validation/predictions.npz",
        }

    run = plan_run()

    ingest_mnist = MnistToS3Operator(
        task_id="ingest_mnist",
        source="{{ params.source }}",
        s3_bucket=run["bucket"],
        s3_prefix=run["s3_prefix"],
        formats=["parquet"],
        splits=list(SPLITS),
        rows_per_shard=PARQUET_ROWS_PER_FILE,
        create_bucket=True,
    )

    @task(multiple_outputs=True)
    def parquet_files(run: dict, data: dict) -> dict:
        """The Parquet file of each split, as an s3:// URI."""
        files = {}
        for split in SPLITS:
            keys = data["outputs"]["parquet"][split]["keys"]
            if len(keys) != 1:
                raise ValueError(
                    f"Expected one Parquet file for the {split} split, got {len(keys)}: {keys}; "
                    f"raise PARQUET_ROWS_PER_FILE above {data['sizes'][split]} rows"
                )
            files[split] = f"s3://{run['bucket']}/{keys[0]}"
        return files

    parquet = parquet_files(run, ingest_mnist.output)
    # Templates, not XComArgs: the converter derives its Assets from its locations when the DAG is parsed.
    to_recordio = {
        split: ParquetToRecordIOOperator(
            task_id=f"{split}_to_recordio",
            source=f"{{{{ ti.xcom_pull(task_ids='parquet_files', key='{split}') }}}}",
            s3_prefix=f"{{{{ ti.xcom_pull(task_ids='plan_run', key='{split}_recordio') }}}}",
            label_column=LABEL_COLUMN,
            label_mapping=IS_ZERO,
            label_default=NOT_ZERO,
        )
        for split in SPLITS
    }

    @task
    def training_request(run: dict, train: dict, validation: dict, params=None) -> dict:
        """The CreateTrainingJob request of this run."""
        hyperparameters = run["hyperparameters"]
        return configs.training_job(
            name=run["training_job"],
            image=run["image"],
            role_arn=run["role_arn"],
            channels=[
                configs.s3_channel("train", train["s3_prefix"], RECORDIO),
                configs.s3_channel("validation", validation["s3_prefix"], RECORDIO),
            ],
            output_path=run["output_path"],
            hyperparameters={
                "predictor_type": "binary_classifier",
                "loss": LOSS,
                "feature_dim": train["feature_dim"],
                "mini_batch_size": hyperparameters["mini_batch_size"],
                "epochs": hyperparameters["epochs"],
                "num_models": hyperparameters["num_models"],
                "binary_classifier_model_selection_criteria": hyperparameters["model_selection_criteria"],
            },
            instance_type=params["instance_type"],
        )

    train = ResumableTrainingOperator(
        task_id="train",
        config=training_request(run, to_recordio["train"].output, to_recordio["validation"].output),
        print_log=True,
        check_interval=5,
    )
    model_data = "{{ ti.xcom_pull(task_ids='train')['Training']['ModelArtifacts']['S3ModelArtifacts'] }}"

    register_model = SageMakerRegisterModelVersionOperator(
        task_id="register_model",
        image_uri=run["image"],
        model_url=model_data,
        package_group_name=MODEL_PACKAGE_GROUP,
        package_group_desc='Linear Learner binary classifiers of MNIST: "is it a 0?"',
        package_desc="{{ run_id }}",
    )

    @task
    def deployment_requests(run: dict, train: dict, params=None) -> dict:
        """CreateModel, CreateEndpointConfig and CreateEndpoint requests for the trained model."""
        return configs.deployment(
            model_name=run["model"],
            endpoint_config_name=run["endpoint_config"],
            endpoint_name=run["endpoint"],
            image=run["image"],
            role_arn=run["role_arn"],
            model_data_url=train["Training"]["ModelArtifacts"]["S3ModelArtifacts"],
            instance_type=params["instance_type"],
        )

    requests = deployment_requests(run, train.output)
    create_model = ResumableModelOperator(task_id="create_model", config=requests["model"])
    create_endpoint_config = ResumableEndpointConfigOperator(
        task_id="create_endpoint_config", config=requests["endpoint_config"]
    )
    create_endpoint = ResumableEndpointOperator(
        task_id="create_endpoint", config=requests["endpoint"], check_interval=5
    )

    @task
    def validate(run: dict, test: dict, params=None) -> str:
        """Send test digits to the endpoint; store images, 0/1 labels, predicted labels and scores."""
        from include.inference.classification import classification_predictions
        from include.inference.validation import read_recordio_objects

        s3 = S3Hook()
        bucket, _ = S3Hook.parse_s3_url(test["s3_prefix"])
        features, labels = read_recordio_objects(
            s3.get_key(key, bucket).get()["Body"].read() for key in test["shard_keys"]
        )
        count = params["validation_records"]
        runtime = AwsBaseHook(client_type="sagemaker-runtime").conn
        body = classification_predictions(runtime, run["endpoint"], features[:count], labels[:count])
        predictions_bucket, predictions_key = S3Hook.parse_s3_url(run["predictions"])
        s3.load_bytes(body, predictions_key, predictions_bucket, replace=True)
        return run["predictions"]

    predictions = validate(run, to_recordio["test"].output)
    report = ClassificationReportOperator(
        task_id="classification_report",
        predictions_s3_uri=predictions,
        report_s3_prefix=run["report_prefix"],
        title='Linear Learner on MNIST, "is it a 0?" — {{ run_id }}',
        class_names=CLASS_NAMES,
    )

    @task
    def leaderboard_entry(run: dict, train: dict, report: dict) -> dict:
        """This run's leaderboard row: its hyperparameters, accuracy and training metrics."""
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

    teardown = SageMakerCleanupOperator(
        task_id="teardown",
        endpoint_name=run["endpoint"],
        endpoint_config_name=run["endpoint_config"],
        model_name=run["model"],
        keep_endpoint="{{ params.keep_endpoint }}",
    )

    parquet >> list(to_recordio.values())
    train >> register_model
    create_model >> create_endpoint_config >> create_endpoint >> predictions >> report
    report >> teardown.as_teardown(setups=[create_model, create_endpoint_config, create_endpoint])


linear_learner_mnist()
