"""
### PCA + k-means clustering of MNIST digits on SageMaker

The SageMaker Spark pipeline example: reduce the 784 pixels of each digit to its first principal
components with the built-in PCA algorithm, cluster the projections with the built-in k-means, and serve
both models as endpoints that turn a digit into its cluster.

1. **plan_run** — names this run's SageMaker resources once, per stage, reads where it deploys (Airflow
   Variables `sagemaker_bucket`, `sagemaker_role_arn`, `sagemaker_region`; local defaults otherwise) and
   settles the hyperparameters: the params, or the grid point of the logical date (*Sweeping by backfill*).
2. **ingest_mnist** — uploads the train and test splits (of the offline sample by default) as recordIO.
3. **train_pca** — PCA (`num_components` of 784 features); **register_pca** records it in `pca-mnist`.
4. **create_pca_model** — one model of the PCA artifact, for the batch transform and the PCA endpoint
   (**create_pca_endpoint_config → create_pca_endpoint**).
5. **project_train** — a batch transform of the training split through PCA (recordIO in, recordIO
   `projection` records out); **kmeans_training_data** labels each projection again with its digit.
6. **train_kmeans** — k-means (`k` clusters of `num_components` features) on the projections, recorded in
   `pca-kmeans-mnist` naming the PCA version it needs (**register_kmeans**), and deployed as PCA is.
7. **validate** — sends test digits to the PCA endpoint, their projections to the k-means endpoint, and
   keeps each digit with its `closest_cluster` and `distance_to_cluster`.
8. **clustering_report** — purity, NMI, ARI, cluster sizes, the cluster × digit table and sample digits
   per cluster, as `report.html` and `metrics.json` under the run's S3 prefix.
9. **record_leaderboard** — appends the run (hyperparameters, purity, NMI, ARI, the k-means job's
   metrics, both training jobs) to the leaderboard `pca-kmeans-mnist`, ranked by purity.
10. **teardown_pca**, **teardown_kmeans** — delete each stage's endpoint, endpoint config and model
   whatever happened before (unless *keep_endpoint* is set); a failed run still ends failed.

**Sweeping by backfill.** With a grid in *sweep_grid* (over num_components, k, epochs and
mini_batch_size), each run of a backfill takes the next point, e.g. `--dag-run-conf '{"sweep_grid":
{"num_components": [20, 50, 100]}}'` runs three weeks with 20, 50 and 100 components on one leaderboard.

Runs offline against the local SageMaker engine, or on AWS when the `aws_default` connection points
there. Retries are safe: a retried task reuses what its first try created.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from include.recordio import CONTENT_TYPE as RECORDIO
from include.sagemaker_requests import batch_transform, configs
from mnist_workflows import form
from mnist_workflows.deploy import deploy
from mnist_workflows.leaderboard import CLUSTERING_METRICS, record_leaderboard
from mnist_workflows.planning import plan_run
from mnist_workflows.reports import clustering_report
from mnist_workflows.spec import PCA_KMEANS_MNIST as SPEC
from mnist_workflows.training import ingest_mnist, recordio_channels, register_model, train, training_job
from mnist_workflows.transform import transform, transform_outputs, transform_plan
from mnist_workflows.validation import read_object, validate, write_object

FEATURE_DIM = 784
# Two models, two groups: a group's versions must be interchangeable versions of one model.
PCA_PACKAGE_GROUP = "pca-mnist"


def transform_locations(plan) -> dict:
    """The PCA transform of the training split: its job's name and where its projections go."""
    pca, kmeans = plan.stage("pca"), plan.stage("kmeans")
    return {
        **transform_plan(pca, f"{plan.bucket_uri}/{pca.s3_prefix}/transform/train/"),
        "projections": f"{plan.bucket_uri}/{kmeans.s3_prefix}/projections/train/",
    }


@dag(
    **SPEC.dag_arguments(),
    schedule=SPEC.schedule,
    dag_display_name="PCA + k-means on MNIST",
    doc_md=__doc__,
    tags=["sagemaker", "mnist", "pca", "kmeans", "clustering"],
    params={
        **form.source(),
        **form.hyperparameters(
            num_components=Param(
                50,
                type="integer",
                minimum=1,
                maximum=FEATURE_DIM,
                title="PCA components",
                description="Principal components kept per digit; k-means clusters these projections.",
            ),
            k=form.clusters(),
            epochs=form.epochs(
                1, "Passes of k-means over the projected training data.", title="k-means epochs"
            ),
            mini_batch_size=form.mini_batch_size(
                500, "Records per mini-batch, for PCA and for the k-means web-scale pass."
            ),
        ),
        **form.deployment("For both training jobs, the transform and both endpoints.", "both endpoints"),
        **form.sweep(SPEC, example={"num_components": [20, 50, 100]}),
    },
)
def pca_kmeans_mnist():
    run = plan_run(SPEC, stages={"pca": "pca", "kmeans": "kmeans"}, extra=transform_locations)
    data = ingest_mnist(run, formats=["recordio"], splits=["train", "test"]).output

    @task
    def pca_training_request(run: dict, data: dict, params=None) -> dict:
        """The CreateTrainingJob request of the PCA stage."""
        hp = run["hyperparameters"]
        return training_job(
            run,
            params,
            stage="pca",
            channels=recordio_channels(data, ("train", "test")),
            hyperparameters={"feature_dim": FEATURE_DIM}
            | {n: hp[n] for n in ("num_components", "mini_batch_size")},
        )

    train_pca = train(pca_training_request(run, data), stage="pca")
    register_pca = register_model(train_pca, run, PCA_PACKAGE_GROUP, "PCA of MNIST digits", stage="pca")
    pca = deploy(run, train_pca, stage="pca")

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

    project_train = transform(transform_request(run, data), task_id="project_train")
    pca.model >> project_train

    @task
    def kmeans_training_data(run: dict, data: dict, transform: dict) -> dict:
        """Label every projected training digit again and store the projections as recordIO-protobuf."""
        from include.inference.projections import projected_recordio

        train, components = data["outputs"]["recordio"]["train"], run["hyperparameters"]["num_components"]
        keys = []
        for digits, projected in transform_outputs(transform, run["bucket"], train["keys"]):
            body = projected_recordio(read_object(projected), read_object(digits), components)
            stored = write_object(run["projections"] + digits.rsplit("/", 1)[-1], body)
            keys.append(stored.removeprefix(f"s3://{run['bucket']}/"))
        return {
            "s3_uri": run["projections"],
            "keys": keys,
            "records": train["records"],
            "feature_dim": components,
        }

    @task
    def kmeans_training_request(run: dict, projections: dict, params=None) -> dict:
        """The CreateTrainingJob request of the k-means stage, on the PCA projections."""
        swept = run["hyperparameters"]
        return training_job(
            run,
            params,
            stage="kmeans",
            channels=[configs.s3_channel("train", projections["s3_uri"], RECORDIO)],
            hyperparameters={
                **{name: swept[name] for name in ("k", "epochs", "mini_batch_size")},
                "feature_dim": swept["num_components"],
                "force_dense": True,  # the SageMaker SDK's KMeans always sends it
            },
        )

    projections = kmeans_training_data(run, data, project_train.output)
    train_kmeans = train(kmeans_training_request(run, projections), stage="kmeans")
    register_kmeans = register_model(
        train_kmeans,
        run,
        SPEC.package_group,
        "k-means clusterings of PCA projections of MNIST",
        stage="kmeans",
        description="{{ run_id }}; clusters the projections of {{ ti.xcom_pull(task_ids='register_pca') }}",
    )
    kmeans = deploy(run, train_kmeans, stage="kmeans")

    def cluster_projections(runtime, run: dict, digits, labels) -> bytes:
        """Send test digits through the PCA endpoint and their projections through the k-means endpoint;
        keep each digit with its closest_cluster and distance_to_cluster on S3."""
        from include.inference.projections import project
        from include.inference.validation import cluster_predictions

        projected = project(runtime, run["pca_endpoint"], digits)
        return cluster_predictions(runtime, run["kmeans_endpoint"], projected, labels, images=digits)

    predictions = validate(run, data, cluster_projections)
    report = clustering_report(run, predictions, "PCA + k-means clustering of MNIST — {{ run_id }}")
    record_leaderboard(SPEC, run, train_kmeans, report, CLUSTERING_METRICS, pca_training_job=train_pca)

    register_pca >> register_kmeans
    [pca.endpoint, kmeans.endpoint] >> predictions >> report >> [pca.teardown, kmeans.teardown]


pca_kmeans_mnist()
