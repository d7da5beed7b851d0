"""
### k-means clustering of MNIST digits on SageMaker

The classic end-to-end SageMaker example: cluster handwritten digits with the built-in k-means
algorithm, deploy the model, and see how well the clusters match the true digits.

1. **plan_run** — names every SageMaker resource of this run (unique per run, valid, passed downstream
   through XCom), reads the bucket, role and region (Airflow Variables `sagemaker_bucket`,
   `sagemaker_role_arn`, `sagemaker_region`; local defaults otherwise) and settles the hyperparameters:
   the params as given, or — when *sweep_grid* is set — overridden by the grid point the run's logical
   date picks (`include/sweeps/grid.py`: one point per weekly period after *sweep_start*, wrapping around).
2. **ingest_mnist** — loads MNIST from the chosen source (the offline sample by default) and uploads
   the train and test splits as recordIO-protobuf.
3. **train** — a k-means training job (`k` clusters, 784 features) with the test channel, so SageMaker
   reports `test:msd`. **register_model** records the model in the `kmeans-mnist` model package group.
4. **create_model → create_endpoint_config → create_endpoint** — deploy the model (setup tasks).
5. **validate** — sends the test digits to the endpoint as CSV and keeps each one's
   `closest_cluster` and `distance_to_cluster`.
6. **clustering_report** — purity, NMI, ARI, cluster sizes, the cluster × digit table and sample
   digits per cluster, as `report.html` and `metrics.json` under the run's S3 prefix.
7. **record_leaderboard** — appends the run (hyperparameters, purity, NMI, ARI, `test:msd`, run id,
   logical date, report) to the shared leaderboard `s3://<bucket>/leaderboards/kmeans-mnist/`, one
   object per run, and rewrites its `leaderboard.json`, `.csv` and `.html` ranked by `test:msd`.
8. **teardown** — deletes the endpoint, endpoint config and model whatever happened before (unless
   *keep_endpoint* is set); a failed run still ends failed.

**Sweeping by backfill.** With a grid in *sweep_grid*, each run of a backfill takes the next point:

    airflow backfill create --dag-id kmeans_mnist --from-date 2026-01-01 --to-date 2026-01-21 \
        --dag-run-conf '{"sweep_grid": {"k": [8, 10, 12]}}' --max-active-runs 3

runs the Sundays 4, 11 and 18 January with k = 8, 10 and 12, all on one leaderboard.

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
from operators.clustering_report import ClusteringReportOperator
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

FEATURE_DIM = 784
MODEL_PACKAGE_GROUP = "kmeans-mnist"
LEADERBOARD = "kmeans-mnist"
SCHEDULE = "@weekly"
START_DATE = datetime(2026, 1, 1)
# The params a sweep grid may override; they are the job's hyperparameters.
SWEPT_PARAMS = ("k", "epochs", "init_method", "mini_batch_size")


@dag(
    dag_id="kmeans_mnist",
    dag_display_name="k-means on MNIST",
    schedule=SCHEDULE,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=4,
    doc_md=__doc__,
    tags=["sagemaker", "mnist", "kmeans", "clustering"],
    default_args={"owner": "ml-platform", "retries": 2, "retry_delay": timedelta(seconds=20)},
    params={
        "source": mnist_source_param(),
        "k": Param(
            10,
            type="integer",
            minimum=2,
            maximum=500,
            title="Clusters (k)",
            description="Number of clusters; 10 matches the ten digits.",
        ),
        "epochs": Param(
            1,
            type="integer",
            minimum=1,
            maximum=100,
            title="Epochs",
            description="Passes over the training data.",
        ),
        "init_method": Param(
            "random",
            enum=["random", "kmeans++"],
            title="Initialisation",
            description="How the initial centers are chosen.",
        ),
        "mini_batch_size": Param(
            500,
            type="integer",
            minimum=1,
            title="Mini-batch size",
            description="Records per mini-batch of the web-scale pass (the seed uses 500).",
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
        **sweep_params(START_DATE, SWEPT_PARAMS, example={"k": [8, 10, 12]}),
    },
    render_template_as_native_obj=True,
)
def kmeans_mnist():
    @task(multiple_outputs=True)
    def plan_run(dag=None, dag_run=None, params=None) -> dict:
        """Name this run's resources, read where it deploys and settle its hyperparameters."""
        target = deployment(lambda name, default: Variable.get(name, default=default))
        names = run_names(dag_run.dag_id, dag_run.run_id)
        image = image_uri("kmeans", target.region)
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
        formats=["recordio"],
        splits=["train", "test"],
        create_bucket=True,
    )
    data = ingest_mnist.output

    @task
    def training_request(run: dict, data: dict, params=None) -> dict:
        """The CreateTrainingJob request of this run."""
        recordio = data["outputs"]["recordio"]
        content_type = "application/x-recordio-protobuf"
        hyperparameters = run["hyperparameters"]
        return configs.training_job(
            name=run["training_job"],
            image=run["image"],
            role_arn=run["role_arn"],
            channels=[
                configs.s3_channel("train", recordio["train"]["s3_uri"], content_type),
                configs.s3_channel("test", recordio["test"]["s3_uri"], content_type),
            ],
            output_path=run["output_path"],
            hyperparameters={
                **hyperparameters,
                "feature_dim": FEATURE_DIM,
                "force_dense": True,  # the seed's
                "eval_metrics": ["msd", "ssd"],
            },
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
        package_group_desc="k-means clusterings of MNIST",
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
        """Send test digits to the endpoint; store images, labels and assigned clusters on S3."""
        from include.inference.validation import cluster_predictions, read_recordio_objects

        s3 = S3Hook()
        test = data["outputs"]["recordio"]["test"]
        bucket, _ = S3Hook.parse_s3_url(test["s3_uri"])
        features, labels = read_recordio_objects(
            s3.get_key(key, bucket).get()["Body"].read() for key in test["keys"]
        )
        count = params["validation_records"]
        runtime = AwsBaseHook(client_type="sagemaker-runtime").conn
        body = cluster_predictions(runtime, run["endpoint"], features[:count], labels[:count])
        predictions_bucket, predictions_key = S3Hook.parse_s3_url(run["predictions"])
        s3.load_bytes(body, predictions_key, predictions_bucket, replace=True)
        return run["predictions"]

    predictions = validate(run, data)
    report = ClusteringReportOperator(
        task_id="clustering_report",
        predictions_s3_uri=predictions,
        report_s3_prefix=run["report_prefix"],
        title="k-means clustering of MNIST — {{ run_id }}",
    )

    @task
    def leaderboard_entry(run: dict, train: dict, report: dict) -> dict:
        """This run's leaderboard row: its hyperparameters, clustering metrics and training metrics."""
        return report_entry(
            train["Training"],
            run["hyperparameters"],
            report,
            ("purity", "nmi", "ari"),
            sweep_point=run["sweep_index"],
        )

    LeaderboardOperator(
        task_id="record_leaderboard",
        bucket=run["bucket"],
        leaderboard=LEADERBOARD,
        entries=leaderboard_entry(run, train.output, report.output),
        metric="test:msd",
        direction="minimize",
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


kmeans_mnist()
