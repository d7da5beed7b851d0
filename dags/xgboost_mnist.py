"""
### XGBoost on MNIST digits on SageMaker

The seed "XGBoost on MNIST": train SageMaker's XGBoost container to classify handwritten digits from
libsvm files, deploy the model, and measure its accuracy on test digits it has never seen.

1. **plan_run** — names every SageMaker resource of this run (unique per run, valid, passed downstream
   through XCom), reads the bucket, role and region (Airflow Variables `sagemaker_bucket`,
   `sagemaker_role_arn`, `sagemaker_region`; local defaults otherwise) and settles the hyperparameters:
   the params as given, or — when *sweep_grid* is set — overridden by the grid point the run's logical
   date picks (`include/sweeps/grid.py`: one point per weekly period after *sweep_start*, wrapping around).
2. **ingest_mnist** — loads MNIST from the chosen source (the offline sample by default) and uploads
   the train, validation and test splits as libsvm.
3. **train** — an XGBoost training job (`multi:softmax` over 10 classes with the seed's eta, gamma,
   min_child_weight and num_round) with the validation channel, so SageMaker reports
   `validation:*` metrics. **register_model** records the model in the `xgboost-mnist` model package
   group.
4. **create_model → create_endpoint_config → create_endpoint** — deploy the model (setup tasks).
5. **validate** — sends the test digits to the endpoint as libsvm (the format the model was trained
   on) and keeps each one's predicted digit.
6. **accuracy_report** — accuracy, per-digit precision, recall and F1, the confusion matrix and the
   misclassified digits, as `report.html` and `metrics.json` under the run's S3 prefix.
7. **record_leaderboard** — appends the run (hyperparameters, accuracy, macro F1, the job's `validation:*`
   metrics, run id, logical date, report) to the shared leaderboard `s3://<bucket>/leaderboards/xgboost-mnist/`,
   one object per run, and rewrites its `leaderboard.json`, `.csv` and `.html` ranked by accuracy.
8. **teardown** — deletes the endpoint, endpoint config and model whatever happened before (unless
   *keep_endpoint* is set); a failed run still ends failed.

**Sweeping by backfill.** With a grid in *sweep_grid* (over eta, gamma, min_child_weight, num_round and
max_depth), each run of a backfill takes the next point:

    airflow backfill create --dag-id xgboost_mnist --from-date 2026-01-01 --to-date 2026-01-21 \
        --dag-run-conf '{"sweep_grid": {"eta": [0.1, 0.2, 0.3]}}' --max-active-runs 3

runs the Sundays 4, 11 and 18 January with eta = 0.1, 0.2 and 0.3, all on one leaderboard.

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
from operators.sagemaker_cleanup import SageMakerCleanupOperator
from operators.sagemaker_resumable import (
    ResumableEndpointConfigOperator,
    ResumableEndpointOperator,
    ResumableModelOperator,
    ResumableTrainingOperator,
)
from operators.sweep_params import run_sweep, sweep_params

MODEL_PACKAGE_GROUP = "xgboost-mnist"
LEADERBOARD = "xgboost-mnist"
DIGITS = [str(digit) for digit in range(10)]
SCHEDULE = "@weekly"
START_DATE = datetime(2026, 1, 1)
# The params a sweep grid may override; with objective and num_class they are the job's hyperparameters.
SWEPT_PARAMS = ("eta", "gamma", "min_child_weight", "num_round", "max_depth")


@dag(
    dag_id="xgboost_mnist",
    dag_display_name="XGBoost on MNIST",
    schedule=SCHEDULE,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=4,
    doc_md=__doc__,
    tags=["sagemaker", "mnist", "xgboost", "classification"],
    default_args={"owner": "ml-platform", "retries": 2, "retry_delay": timedelta(seconds=20)},
    params={
        "source": mnist_source_param(),
        "objective": Param(
            "multi:softmax",
            enum=["multi:softmax", "multi:softprob"],
            title="Objective",
            description="multi:softmax answers the digit; multi:softprob the ten class probabilities.",
        ),
        "num_class": Param(
            10,
            type="integer",
            minimum=2,
            maximum=10,
            title="Classes",
            description="Number of classes; 10 for the ten digits.",
        ),
        "num_round": Param(
            10,
            type="integer",
            minimum=1,
            maximum=1000,
            title="Boosting rounds (num_round)",
            description="Trees added per class.",
        ),
        "eta": Param(
            0.2,
            type="number",
            exclusiveMinimum=0,
            maximum=1,
            title="Learning rate (eta)",
            description="Shrinkage of each new tree's contribution.",
        ),
        "gamma": Param(
            4,
            type="number",
            minimum=0,
            title="Minimum split loss (gamma)",
            description="A split must reduce the loss by at least this much.",
        ),
        "min_child_weight": Param(
            6,
            type="number",
            minimum=0,
            title="Minimum child weight",
            description="Smallest sum of instance weight (hessian) a leaf may hold.",
        ),
        "max_depth": Param(
            5,
            type="integer",
            minimum=0,
            maximum=20,
            title="Maximum tree depth",
            description="Deeper trees fit more detail and overfit sooner.",
        ),
        "nthread": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            title="Threads (nthread)",
            description="CPU threads XGBoost trains with; empty means all of the instance's cores.",
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
        **sweep_params(START_DATE, SWEPT_PARAMS, example={"eta": [0.1, 0.2, 0.3]}),
    },
    render_template_as_native_obj=True,
)
def xgboost_mnist():
    @task(multiple_outputs=True)
    def plan_run(dag=None, dag_run=None, params=None) -> dict:
        """Name this run's resources, read where it deploys and settle its hyperparameters."""
        target = deployment(lambda name, default: Variable.get(name, default=default))
        names = run_names(dag_run.dag_id, dag_run.run_id)
        image = image_uri("xgboost", target.region)
        prefix = f"s3://{target.bucket}/{names.s3_prefix}"
        sweep = run_sweep(SWEPT_PARAMS, SCHEDULE, dag=dag, dag_run=dag_run, params=params)
        return {
            **target.to_dict(),
            **names.to_dict(),
            "hyperparameters": sweep["values"],
            "sweep_index": sweep["index"],
            "image": image,
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
        formats=["libsvm"],
        splits=["train", "validation", "test"],
        create_bucket=True,
    )
    data = ingest_mnist.output

    @task
    def training_request(run: dict, data: dict, params=None) -> dict:
        """The CreateTrainingJob request of this run."""
        libsvm = data["outputs"]["libsvm"]
        hyperparameters = {
            "objective": params["objective"],
            "num_class": params["num_class"],
            **run["hyperparameters"],
        }
        if params["nthread"] is not None:
            hyperparameters["nthread"] = params["nthread"]
        return configs.training_job(
            name=run["training_job"],
            image=run["image"],
            role_arn=run["role_arn"],
            channels=[
                configs.s3_channel(split, libsvm[split]["s3_uri"], libsvm[split]["content_type"])
                for split in ("train", "validation")
            ],
            output_path=run["output_path"],
            hyperparameters=hyperparameters,
            instance_type=params["instance_type"],
        )

    train = ResumableTrainingOperator(
        task_id="train", config=training_request(run, data), print_log=True, check_interval=5
    )
    model_data = "{{ ti.xcom_pull(task_ids='train')['Training']['ModelArtifacts']['S3ModelArtifacts'] }}"

    register_model = SageMakerRegisterModelVersionOperator(
        task_id="register_model",
        image_uri=run["image"],
        model_url=model_data,
        package_group_name=MODEL_PACKAGE_GROUP,
        package_group_desc="XGBoost digit classifiers trained on MNIST",
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
    def validate(run: dict, data: dict, params=None) -> str:
        """Send test digits to the endpoint; store images, labels and predicted digits on S3."""
        from include.inference.batches import LIBSVM
        from include.inference.classification import classification_predictions, read_libsvm_objects

        s3 = S3Hook()
        test = data["outputs"]["libsvm"]["test"]
        bucket, _ = S3Hook.parse_s3_url(test["s3_uri"])
        features, labels = read_libsvm_objects(
            s3.get_key(key, bucket).get()["Body"].read() for key in test["keys"]
        )
        count = params["validation_records"]
        runtime = AwsBaseHook(client_type="sagemaker-runtime").conn
        # libsvm, not CSV: the model's columns are the files' 1-based indices and absent pixels are
        # missing values to it, which a CSV request (0-based, zeros as values) would not match.
        body = classification_predictions(
            runtime, run["endpoint"], features[:count], labels[:count], content_type=LIBSVM
        )
        predictions_bucket, predictions_key = S3Hook.parse_s3_url(run["predictions"])
        s3.load_bytes(body, predictions_key, predictions_bucket, replace=True)
        return run["predictions"]

    predictions = validate(run, data)
    report = ClassificationReportOperator(
        task_id="accuracy_report",
        predictions_s3_uri=predictions,
        report_s3_prefix=run["report_prefix"],
        title="XGBoost on MNIST — {{ run_id }}",
        class_names=DIGITS,
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

    train >> register_model
    create_model >> create_endpoint_config >> create_endpoint >> predictions >> report
    report >> teardown.as_teardown(setups=[create_model, create_endpoint_config, create_endpoint])


xgboost_mnist()
