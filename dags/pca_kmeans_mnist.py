"""
### PCA + k-means clustering of MNIST digits on SageMaker

The SageMaker Spark pipeline example: reduce the 784 pixels of each digit to its first principal
components with the built-in PCA algorithm, cluster the projections with the built-in k-means, and serve
both models as endpoints that turn a digit into its cluster.

1. **plan_run** — names every SageMaker resource of this run, per stage (`…-pca-…`, `…-kmeans-…`), reads
   the bucket, role and region (Airflow Variables `sagemaker_bucket`, `sagemaker_role_arn`,
   `sagemaker_region`; local defaults otherwise) and settles the hyperparameters: the params as given,
   or — when *sweep_grid* is set — overridden by the grid point the run's logical date picks
   (`include/sweeps/grid.py`: one point per weekly period after *sweep_start*, wrapping around).
2. **ingest_mnist** — loads MNIST from the chosen source (the offline sample by default) and uploads the
   train and test splits as recordIO-protobuf.
3. **train_pca** — a PCA training job (`num_components` of 784 features); **register_pca** records the
   model in the `pca-mnist` model package group.
4. **create_pca_model** — one SageMaker model of the PCA artifact, used by the batch transform and by the
   PCA endpoint (**create_pca_endpoint_config → create_pca_endpoint**).
5. **project_train** — a batch transform of the training split through the PCA model (recordIO in,
   recordIO `projection` records out); **kmeans_training_data** labels each projection again with its
   digit and stores them as recordIO-protobuf.
6. **train_kmeans** — k-means (`k` clusters, `feature_dim` = `num_components`) on the projections;
   **register_kmeans** records it in the `pca-kmeans-mnist` group, its description naming the PCA
   version it needs. Then **create_kmeans_model → create_kmeans_endpoint_config → create_kmeans_endpoint**.
7. **validate** — sends test digits to the PCA endpoint, their projections to the k-means endpoint, and
   keeps each digit with its `closest_cluster` and `distance_to_cluster`.
8. **clustering_report** — purity, NMI, ARI, cluster sizes, the cluster × digit table and sample digits
   per cluster, as `report.html` and `metrics.json` under the run's S3 prefix.
9. **record_leaderboard** — appends the run (hyperparameters, purity, NMI, ARI, the k-means job's
   metrics, both training jobs, run id, logical date, report) to the shared leaderboard
   `s3://<bucket>/leaderboards/pca-kmeans-mnist/`, one object per run, and rewrites its
   `leaderboard.json`, `.csv` and `.html` ranked by purity.
10. **teardown_pca**, **teardown_kmeans** — delete each stage's endpoint, endpoint config and model
   whatever happened before (unless *keep_endpoint* is set); a failed run still ends failed.

**Sweeping by backfill.** With a grid in *sweep_grid* (over num_components, k, epochs and
mini_batch_size), each run of a backfill takes the next point:

    airflow backfill create --dag-id pca_kmeans_mnist --from-date 2026-01-01 --to-date 2026-01-21 \
        --dag-run-conf '{"sweep_grid": {"num_components": [20, 50, 100]}}' --max-active-runs 3

runs the Sundays 4, 11 and 18 January with 20, 50 and 100 components, all on one leaderboard.

The two models are registered in two groups because they are two models: each group's versions are
interchangeable versions of one model (a PCA, or a k-means over 50-component projections), which a
mixed group would not be. Runs offline against the local SageMaker engine, or on AWS when the
`aws_default` connection points there. Retries are safe: a retried task reuses what its first try created.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerRegisterModelVersionOperator
from airflow.sdk import Param, Variable, dag, task

from include.sagemaker_requests import batch_transform, configs
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
from operators.sagemaker_resumable_transform import ResumableTransformOperator
from operators.sweep_params import run_sweep, sweep_params

FEATURE_DIM = 784
RECORDIO = "application/x-recordio-protobuf"
PCA_PACKAGE_GROUP = "pca-mnist"
KMEANS_PACKAGE_GROUP = "pca-kmeans-mnist"
LEADERBOARD = "pca-kmeans-mnist"
SCHEDULE = "@weekly"
START_DATE = datetime(2026, 1, 1)
# The params a sweep grid may override; they are the two jobs' hyperparameters.
SWEPT_PARAMS = ("num_components", "k", "epochs", "mini_batch_size")


def model_artifact(training_task_id: str) -> str:
    """A template of the ``model.tar.gz`` the training task ``training_task_id`` produced."""
    artifacts = f"ti.xcom_pull(task_ids='{training_task_id}')['Training']['ModelArtifacts']"
    return "{{ " + artifacts + "['S3ModelArtifacts'] }}"


@dag(
    dag_id="pca_kmeans_mnist",
    dag_display_name="PCA + k-means on MNIST",
    schedule=SCHEDULE,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=4,
    doc_md=__doc__,
    tags=["sagemaker", "mnist", "pca", "kmeans", "clustering"],
    default_args={"owner": "ml-platform", "retries": 2, "retry_delay": timedelta(seconds=20)},
    params={
        "source": mnist_source_param(),
        "num_components": Param(
            50,
            type="integer",
            minimum=1,
            maximum=FEATURE_DIM,
            title="PCA components",
            description="Principal components kept per digit; k-means clusters these projections.",
        ),
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
            title="k-means epochs",
            description="Passes of k-means over the projected training data.",
        ),
        "mini_batch_size": Param(
            500,
            type="integer",
            minimum=1,
            title="Mini-batch size",
            description="Records per mini-batch, for PCA and for the k-means web-scale pass.",
        ),
        "instance_type": Param(
            "ml.m5.large",
            type="string",
            pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$",
            title="Instance type",
            description="For both training jobs, the batch transform and both endpoints.",
        ),
        "validation_records": Param(
            1000,
            type="integer",
            minimum=10,
            maximum=10000,
            title="Validation records",
            description="How many test digits to send through the PCA and k-means endpoints.",
        ),
        "keep_endpoint": Param(
            False,
            type="boolean",
            title="Keep the endpoints",
            description="Leave both endpoints running after the run (you pay for them on AWS).",
        ),
        **sweep_params(START_DATE, SWEPT_PARAMS, example={"num_components": [20, 50, 100]}),
    },
    render_template_as_native_obj=True,
)
def pca_kmeans_mnist():
    @task(multiple_outputs=True)
    def plan_run(dag=None, dag_run=None, params=None) -> dict:
        """Name this run's resources, per stage, read where it deploys and settle its hyperparameters."""
        target = deployment(lambda name, default: Variable.get(name, default=default))
        names = run_names(dag_run.dag_id, dag_run.run_id)
        pca = run_names(dag_run.dag_id, dag_run.run_id, stage="pca")
        kmeans = run_names(dag_run.dag_id, dag_run.run_id, stage="kmeans")
        bucket = f"s3://{target.bucket}"
        sweep = run_sweep(SWEPT_PARAMS, SCHEDULE, dag=dag, dag_run=dag_run, params=params)
        return {
            **target.to_dict(),
            "s3_prefix": names.s3_prefix,
            "hyperparameters": sweep["values"],
            "sweep_index": sweep["index"],
            **{f"pca_{kind}": name for kind, name in pca.to_dict().items()},
            **{f"kmeans_{kind}": name for kind, name in kmeans.to_dict().items()},
            "transform_job": f"{pca.training_job}-transform",
            "pca_image": image_uri("pca", target.region),
            "kmeans_image": image_uri("kmeans", target.region),
            "output_path": f"{bucket}/{names.s3_prefix}/models",
            "transform_output": f"{bucket}/{pca.s3_prefix}/transform/train/",
            "projections": f"{bucket}/{kmeans.s3_prefix}/projections/train/",
            "report_prefix": f"{bucket}/{names.s3_prefix}/report",
            "predictions": f"{bucket}/{names.s3_prefix}/validation/predictions.npz",
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
    def pca_training_request(run: dict, data: dict, params=None) -> dict:
        """The CreateTrainingJob request of the PCA stage."""
        recordio = data["outputs"]["recordio"]
        return configs.training_job(
            name=run["pca_training_job"],
            image=run["pca_image"],
            role_arn=run["role_arn"],
            channels=[
                configs.s3_channel("train", recordio["train"]["s3_uri"], RECORDIO),
                configs.s3_channel("test", recordio["test"]["s3_uri"], RECORDIO),
            ],
            output_path=run["output_path"],
            hyperparameters={
                "feature_dim": FEATURE_DIM,
                "num_components": run["hyperparameters"]["num_components"],
                "mini_batch_size": run["hyperparameters"]["mini_batch_size"],
            },
            instance_type=params["instance_type"],
        )

    train_pca = ResumableTrainingOperator(
        task_id="train_pca", config=pca_training_request(run, data), print_log=True, check_interval=5
    )
    register_pca = SageMakerRegisterModelVersionOperator(
        task_id="register_pca",
        image_uri=run["pca_image"],
        model_url=model_artifact("train_pca"),
        package_group_name=PCA_PACKAGE_GROUP,
        package_group_desc="PCA of MNIST digits",
        package_desc="{{ run_id }}",
    )

    @task
    def deployment_requests(run: dict, train: dict, stage: str, params=None) -> dict:
        """CreateModel, CreateEndpointConfig and CreateEndpoint requests for one stage's trained model."""
        return configs.deployment(
            model_name=run[f"{stage}_model"],
            endpoint_config_name=run[f"{stage}_endpoint_config"],
            endpoint_name=run[f"{stage}_endpoint"],
            image=run[f"{stage}_image"],
            role_arn=run["role_arn"],
            model_data_url=train["Training"]["ModelArtifacts"]["S3ModelArtifacts"],
            instance_type=params["instance_type"],
        )

    pca_requests = deployment_requests.override(task_id="pca_deployment_requests")(
        run, train_pca.output, stage="pca"
    )
    create_pca_model = ResumableModelOperator(task_id="create_pca_model", config=pca_requests["model"])
    create_pca_endpoint_config = ResumableEndpointConfigOperator(
        task_id="create_pca_endpoint_config", config=pca_requests["endpoint_config"]
    )
    create_pca_endpoint = ResumableEndpointOperator(
        task_id="create_pca_endpoint", config=pca_requests["endpoint"], check_interval=5
    )

    @task
    def transform_request(run: dict, data: dict, params=None) -> dict:
        """The CreateTransformJob request projecting the training split, record by record, through PCA."""
        return batch_transform.transform_job(
            name=run["transform_job"],
            model_name=run["pca_model"],
            input_uri=data["outputs"]["recordio"]["train"]["s3_uri"],
            output_path=run["transform_output"],
            content_type=RECORDIO,
            accept=RECORDIO,
            split_type="RecordIO",
            assemble_with="None",
            instance_type=params["instance_type"],
        )

    # The transform uses the PCA stage's model, so teardown_pca deletes it along with the endpoint.
    project_train = ResumableTransformOperator(
        task_id="project_train", config=transform_request(run, data), check_interval=5
    )

    @task
    def kmeans_training_data(run: dict, data: dict, transform: dict) -> dict:
        """Label every projected training digit again and store the projections as recordIO-protobuf."""
        from include.inference.projections import projected_recordio

        s3 = S3Hook()

        def read(uri: str) -> bytes:
            return s3.get_key(uri).get()["Body"].read()

        train = data["outputs"]["recordio"]["train"]
        input_bucket, _ = S3Hook.parse_s3_url(train["s3_uri"])
        output_path = transform["Transform"]["TransformOutput"]["S3OutputPath"]
        bucket, prefix = S3Hook.parse_s3_url(run["projections"])
        keys = []
        for key in train["keys"]:
            source = f"s3://{input_bucket}/{key}"
            body = projected_recordio(
                read(batch_transform.output_uri(source, train["s3_uri"], output_path)),
                read(source),
                run["hyperparameters"]["num_components"],
            )
            keys.append(f"{prefix.rstrip('/')}/{key.rsplit('/', 1)[-1]}")
            s3.load_bytes(body, keys[-1], bucket, replace=True)
        return {"s3_uri": run["projections"], "keys": keys, "rows": train["rows"]}

    projections = kmeans_training_data(run, data, project_train.output)

    @task
    def kmeans_training_request(run: dict, projections: dict, params=None) -> dict:
        """The CreateTrainingJob request of the k-means stage, on the PCA projections."""
        hyperparameters = run["hyperparameters"]
        return configs.training_job(
            name=run["kmeans_training_job"],
            image=run["kmeans_image"],
            role_arn=run["role_arn"],
            channels=[configs.s3_channel("train", projections["s3_uri"], RECORDIO)],
            output_path=run["output_path"],
            hyperparameters={
                "k": hyperparameters["k"],
                "feature_dim": hyperparameters["num_components"],
                "epochs": hyperparameters["epochs"],
                "mini_batch_size": hyperparameters["mini_batch_size"],
                "force_dense": True,  # the SageMaker SDK's KMeans always sends it
            },
            instance_type=params["instance_type"],
        )

    train_kmeans = ResumableTrainingOperator(
        task_id="train_kmeans",
        config=kmeans_training_request(run, projections),
        print_log=True,
        check_interval=5,
    )
    register_kmeans = SageMakerRegisterModelVersionOperator(
        task_id="register_kmeans",
        image_uri=run["kmeans_image"],
        model_url=model_artifact("train_kmeans"),
        package_group_name=KMEANS_PACKAGE_GROUP,
        package_group_desc="k-means clusterings of PCA projections of MNIST",
        package_desc="{{ run_id }}; clusters the projections of {{ ti.xcom_pull(task_ids='register_pca') }}",
    )

    kmeans_requests = deployment_requests.override(task_id="kmeans_deployment_requests")(
        run, train_kmeans.output, stage="kmeans"
    )
    create_kmeans_model = ResumableModelOperator(
        task_id="create_kmeans_model", config=kmeans_requests["model"]
    )
    create_kmeans_endpoint_config = ResumableEndpointConfigOperator(
        task_id="create_kmeans_endpoint_config", config=kmeans_requests["endpoint_config"]
    )
    create_kmeans_endpoint = ResumableEndpointOperator(
        task_id="create_kmeans_endpoint", config=kmeans_requests["endpoint"], check_interval=5
    )

    @task
    def validate(run: dict, data: dict, params=None) -> str:
        """Send test digits through the PCA and k-means endpoints; store digits, labels and clusters on S3."""
        from include.inference.projections import project
        from include.inference.validation import cluster_predictions, read_recordio_objects

        s3 = S3Hook()
        test = data["outputs"]["recordio"]["test"]
        bucket, _ = S3Hook.parse_s3_url(test["s3_uri"])
        images, labels = read_recordio_objects(
            s3.get_key(key, bucket).get()["Body"].read() for key in test["keys"]
        )
        count = params["validation_records"]
        images, labels = images[:count], labels[:count]
        runtime = AwsBaseHook(client_type="sagemaker-runtime").conn
        projected = project(runtime, run["pca_endpoint"], images)
        body = cluster_predictions(runtime, run["kmeans_endpoint"], projected, labels, images=images)
        predictions_bucket, predictions_key = S3Hook.parse_s3_url(run["predictions"])
        s3.load_bytes(body, predictions_key, predictions_bucket, replace=True)
        return run["predictions"]

    predictions = validate(run, data)
    report = ClusteringReportOperator(
        task_id="clustering_report",
        predictions_s3_uri=predictions,
        report_s3_prefix=run["report_prefix"],
        title="PCA + k-means clustering of MNIST — {{ run_id }}",
    )

    @task
    def leaderboard_entry(run: dict, train_pca: dict, train_kmeans: dict, report: dict) -> dict:
        """This run's leaderboard row: its hyperparameters, clustering metrics and k-means metrics."""
        return report_entry(
            train_kmeans["Training"],
            run["hyperparameters"],
            report,
            ("purity", "nmi", "ari"),
            pca_training_job=train_pca["Training"]["TrainingJobName"],
            sweep_point=run["sweep_index"],
        )

    LeaderboardOperator(
        task_id="record_leaderboard",
        bucket=run["bucket"],
        leaderboard=LEADERBOARD,
        entries=leaderboard_entry(run, train_pca.output, train_kmeans.output, report.output),
        metric="purity",
        direction="maximize",
    )

    teardown_pca = SageMakerCleanupOperator(
        task_id="teardown_pca",
        endpoint_name=run["pca_endpoint"],
        endpoint_config_name=run["pca_endpoint_config"],
        model_name=run["pca_model"],
        keep_endpoint="{{ params.keep_endpoint }}",
    )
    teardown_kmeans = SageMakerCleanupOperator(
        task_id="teardown_kmeans",
        endpoint_name=run["kmeans_endpoint"],
        endpoint_config_name=run["kmeans_endpoint_config"],
        model_name=run["kmeans_model"],
        keep_endpoint="{{ params.keep_endpoint }}",
    )

    train_pca >> register_pca >> register_kmeans
    train_kmeans >> register_kmeans
    create_pca_model >> [project_train, create_pca_endpoint_config]
    create_pca_endpoint_config >> create_pca_endpoint
    create_kmeans_model >> create_kmeans_endpoint_config >> create_kmeans_endpoint
    [create_pca_endpoint, create_kmeans_endpoint] >> predictions >> report
    report >> [
        teardown_pca.as_teardown(setups=[create_pca_model, create_pca_endpoint_config, create_pca_endpoint]),
        teardown_kmeans.as_teardown(
            setups=[create_kmeans_model, create_kmeans_endpoint_config, create_kmeans_endpoint]
        ),
    ]


pca_kmeans_mnist()
