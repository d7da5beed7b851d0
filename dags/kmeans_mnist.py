"""
### k-means clustering of MNIST digits on SageMaker

The classic end-to-end SageMaker example: cluster handwritten digits with the built-in k-means
algorithm, deploy the model, and see how well the clusters match the true digits.

1. **plan_run** — names this run's SageMaker resources once, reads where it deploys (Airflow Variables
   `sagemaker_bucket`, `sagemaker_role_arn`, `sagemaker_region`; local defaults otherwise) and settles the
   hyperparameters: the params, or the grid point of the run's logical date (*Sweeping by backfill*).
2. **ingest_mnist** — loads MNIST from the chosen source (the offline sample by default) and uploads
   the train and test splits as recordIO-protobuf, each in at least one object per training instance.
3. **train** — a k-means training job (`k` clusters, 784 features) on *instance_count* instances (the
   seed's 2), each reading its share of the objects (`ShardedByS3Key`, as the SageMaker SDK sends), with
   the test channel, so SageMaker reports `test:msd`. **register_model** records the model in the
   `kmeans-mnist` model package group.
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

from airflow.sdk import Param, dag, task

from mnist_workflows import form
from mnist_workflows.deploy import deploy
from mnist_workflows.leaderboard import CLUSTERING_METRICS, record_leaderboard
from mnist_workflows.planning import plan_run
from mnist_workflows.reports import clustering_report
from mnist_workflows.spec import KMEANS_MNIST as SPEC
from mnist_workflows.training import ingest_mnist, recordio_channels, register_model, train, training_job
from mnist_workflows.validation import validate

FEATURE_DIM = 784


@dag(
    **SPEC.dag_arguments(),
    schedule=SPEC.schedule,
    dag_display_name="k-means on MNIST",
    doc_md=__doc__,
    tags=["sagemaker", "mnist", "kmeans", "clustering"],
    params={
        **form.source(),
        **form.hyperparameters(
            k=form.clusters(),
            epochs=form.epochs(1, "Passes over the training data."),
            init_method=Param(
                "random",
                enum=["random", "kmeans++"],
                title="Initialisation",
                description="How the initial centers are chosen.",
            ),
            mini_batch_size=form.mini_batch_size(
                500, "Records per mini-batch of the web-scale pass (the seed uses 500)."
            ),
        ),
        **form.instance_count(2, "Instances the training job runs on, each on its share of the data."),
        **form.deployment(),
        **form.sweep(SPEC, example={"k": [8, 10, 12]}),
    },
)
def kmeans_mnist():
    run = plan_run(SPEC)
    data = ingest_mnist(
        run, formats=["recordio"], splits=["train", "test"], min_shards="{{ params.instance_count }}"
    ).output

    @task
    def training_request(run: dict, data: dict, params=None) -> dict:
        """The CreateTrainingJob request of this run: k-means with the test channel, so SageMaker
        reports test:msd."""
        return training_job(
            run,
            params,
            channels=recordio_channels(data, ("train", "test"), distribution="ShardedByS3Key"),
            hyperparameters={
                **run["hyperparameters"],
                "feature_dim": FEATURE_DIM,
                "force_dense": True,  # the seed's
                "eval_metrics": ["msd", "ssd"],
            },
        )

    trained = train(training_request(run, data))
    register_model(trained, run, SPEC.package_group, "k-means clusterings of MNIST")
    deployed = deploy(run, trained)

    def assign_clusters(runtime, run: dict, digits, labels) -> bytes:
        """Send test digits to the endpoint as CSV; keep each one's closest_cluster and
        distance_to_cluster, with its image and label, on S3."""
        from include.inference.validation import cluster_predictions

        return cluster_predictions(runtime, run["endpoint"], digits, labels)

    predictions = validate(run, data, assign_clusters)
    report = clustering_report(run, predictions, "k-means clustering of MNIST — {{ run_id }}")
    record_leaderboard(SPEC, run, trained, report, CLUSTERING_METRICS)

    deployed.endpoint >> predictions >> report >> deployed.teardown


kmeans_mnist()
