"""
### XGBoost on MNIST digits on SageMaker

The seed "XGBoost on MNIST": train SageMaker's XGBoost container to classify handwritten digits from
libsvm files, deploy the model, and measure its accuracy on test digits it has never seen.

1. **plan_run** — names this run's SageMaker resources once, reads where it deploys (Airflow Variables
   `sagemaker_bucket`, `sagemaker_role_arn`, `sagemaker_region`; local defaults otherwise) and settles the
   hyperparameters: the params, or the grid point of the run's logical date (*Sweeping by backfill*).
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

from airflow.sdk import Param, dag, task

from include.sagemaker_requests import configs
from mnist_workflows import form
from mnist_workflows.deploy import deploy
from mnist_workflows.leaderboard import CLASSIFICATION_METRICS, record_leaderboard
from mnist_workflows.planning import plan_run
from mnist_workflows.reports import classification_report
from mnist_workflows.spec import XGBOOST_MNIST as SPEC
from mnist_workflows.training import ingest_mnist, register_model, train, training_job
from mnist_workflows.validation import validate

DIGITS = [str(digit) for digit in range(10)]


@dag(
    **SPEC.dag_arguments(),
    schedule=SPEC.schedule,
    dag_display_name="XGBoost on MNIST",
    doc_md=__doc__,
    tags=["sagemaker", "mnist", "xgboost", "classification"],
    params={
        **form.source(),
        **form.hyperparameters(
            objective=Param(
                "multi:softmax",
                enum=["multi:softmax", "multi:softprob"],
                title="Objective",
                description="multi:softmax answers the digit; multi:softprob the ten class probabilities.",
            ),
            num_class=Param(
                10,
                type="integer",
                minimum=2,
                maximum=10,
                title="Classes",
                description="Number of classes; 10 for the ten digits.",
            ),
            num_round=Param(
                10,
                type="integer",
                minimum=1,
                maximum=1000,
                title="Boosting rounds (num_round)",
                description="Trees added per class.",
            ),
            eta=Param(
                0.2,
                type="number",
                exclusiveMinimum=0,
                maximum=1,
                title="Learning rate (eta)",
                description="Shrinkage of each new tree's contribution.",
            ),
            gamma=Param(
                4,
                type="number",
                minimum=0,
                title="Minimum split loss (gamma)",
                description="A split must reduce the loss by at least this much.",
            ),
            min_child_weight=Param(
                6,
                type="number",
                minimum=0,
                title="Minimum child weight",
                description="Smallest sum of instance weight (hessian) a leaf may hold.",
            ),
            max_depth=Param(
                5,
                type="integer",
                minimum=0,
                maximum=20,
                title="Maximum tree depth",
                description="Deeper trees fit more detail and overfit sooner.",
            ),
            nthread=Param(
                None,
                type=["null", "integer"],
                minimum=1,
                title="Threads (nthread)",
                description="CPU threads XGBoost trains with; empty means all of the instance's cores.",
            ),
        ),
        **form.deployment(),
        **form.sweep(SPEC, example={"eta": [0.1, 0.2, 0.3]}),
    },
)
def xgboost_mnist():
    run = plan_run(SPEC)
    data = ingest_mnist(run, formats=["libsvm"], splits=["train", "validation", "test"]).output

    @task
    def training_request(run: dict, data: dict, params=None) -> dict:
        """The CreateTrainingJob request of this run: XGBoost with the validation channel, so SageMaker
        reports validation:* metrics."""
        libsvm = data["outputs"]["libsvm"]
        # objective and num_class are not swept: with the swept params they are the job's hyperparameters.
        hyperparameters = {
            "objective": params["objective"],
            "num_class": params["num_class"],
            **run["hyperparameters"],
        }
        if params["nthread"] is not None:
            hyperparameters["nthread"] = params["nthread"]
        return training_job(
            run,
            params,
            channels=[
                configs.s3_channel(split, libsvm[split]["s3_uri"], libsvm[split]["content_type"])
                for split in ("train", "validation")
            ],
            hyperparameters=hyperparameters,
        )

    trained = train(training_request(run, data))
    register_model(trained, run, SPEC.package_group, "XGBoost digit classifiers trained on MNIST")
    deployed = deploy(run, trained)

    def classify_digits(runtime, run: dict, digits, labels) -> bytes:
        """Send test digits to the endpoint as libsvm; keep each one's predicted digit, with its image
        and label, on S3."""
        from include.inference.batches import LIBSVM
        from include.inference.classification import classification_predictions

        # libsvm, not CSV: the model's columns are the files' 1-based indices and absent pixels are
        # missing values to it, which a CSV request (0-based, zeros as values) would not match.
        return classification_predictions(runtime, run["endpoint"], digits, labels, content_type=LIBSVM)

    predictions = validate(run, data, classify_digits, data_format="libsvm")
    report = classification_report(
        run, predictions, "XGBoost on MNIST — {{ run_id }}", DIGITS, task_id="accuracy_report"
    )
    record_leaderboard(SPEC, run, trained, report, CLASSIFICATION_METRICS)

    deployed.endpoint >> predictions >> report >> deployed.teardown


xgboost_mnist()
