"""
### Linear Learner on MNIST: "is it a 0?"

The seed "Parquet → recordIO-protobuf → linear learner": store MNIST as Parquet, convert it to
recordIO-protobuf with the labels turned into a yes/no question — is this digit a 0? — and train
SageMaker's built-in Linear Learner as a binary classifier, then deploy it and measure it on test digits.

1. **plan_run** — names this run's SageMaker resources once, reads where it deploys (Airflow Variables
   `sagemaker_bucket`, `sagemaker_role_arn`, `sagemaker_region`; local defaults otherwise) and settles the
   hyperparameters: the params, or the grid point of the run's logical date (*Sweeping by backfill*).
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

from airflow.sdk import Param, dag, task

from include.recordio import CONTENT_TYPE as RECORDIO
from include.sagemaker_requests import configs
from mnist_workflows import form
from mnist_workflows.deploy import deploy
from mnist_workflows.leaderboard import CLASSIFICATION_METRICS, record_leaderboard
from mnist_workflows.planning import plan_run
from mnist_workflows.reports import classification_report
from mnist_workflows.spec import LINEAR_LEARNER_MNIST as SPEC
from mnist_workflows.training import ingest_mnist, one_file_per_split, register_model, train, training_job
from mnist_workflows.validation import validate
from operators.parquet_to_recordio import ParquetToRecordIOOperator

SPLITS = ("train", "validation", "test")
# The seed's question "is it a 0?": digit 0 is the positive class (1.0), every other digit 0.0.
IS_ZERO = {0: 1.0}
NOT_ZERO = 0.0
CLASS_NAMES = ["not 0", "0"]
# More rows than any MNIST split, so each split is one Parquet file, as in the seed.
PARQUET_ROWS_PER_FILE = 100_000
# The seed's loss: absolute loss on the 0/1 label, thresholded as any binary classifier's scores are.
LOSS = "absolute_loss"


@dag(
    **SPEC.dag_arguments(),
    schedule=SPEC.schedule,
    dag_display_name="Linear Learner on MNIST (is it a 0?)",
    doc_md=__doc__,
    tags=["sagemaker", "mnist", "linear-learner", "classification", "parquet"],
    params={
        **form.source(),
        **form.hyperparameters(
            mini_batch_size=form.mini_batch_size(
                200, "Records per mini-batch of the optimizer (the seed uses 200).", 100_000
            ),
            epochs=form.epochs(
                10,
                "Most passes over the training data (the seed makes 10); the validation data may stop "
                "earlier.",
            ),
            num_models=Param(
                32,
                type="integer",
                minimum=1,
                maximum=32,
                title="Candidate models",
                description="Models trained side by side with different regularisation and learning rates "
                "(the seed trains 32); the best on the validation data is kept.",
            ),
            model_selection_criteria=Param(
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
        ),
        **form.deployment(),
        **form.sweep(SPEC, example={"mini_batch_size": [100, 200, 500]}),
    },
)
def linear_learner_mnist():
    run = plan_run(
        SPEC, extra=lambda plan: {f"{split}_recordio": f"{plan.prefix}/recordio/{split}/" for split in SPLITS}
    )
    ingested = ingest_mnist(run, formats=["parquet"], splits=SPLITS, rows_per_shard=PARQUET_ROWS_PER_FILE)
    parquet = one_file_per_split(run, ingested.output, "parquet", SPLITS)
    # Templates, not XComArgs: the converter derives its Assets from its locations when the DAG is parsed.
    to_recordio = {
        split: ParquetToRecordIOOperator(
            task_id=f"{split}_to_recordio",
            source=f"{{{{ ti.xcom_pull(task_ids='parquet_files', key='{split}') }}}}",
            s3_prefix=f"{{{{ ti.xcom_pull(task_ids='plan_run', key='{split}_recordio') }}}}",
            label_column="label",
            label_mapping=IS_ZERO,
            label_default=NOT_ZERO,
        )
        for split in SPLITS
    }
    parquet >> list(to_recordio.values())

    @task
    def training_request(run: dict, train: dict, validation: dict, params=None) -> dict:
        """The CreateTrainingJob request of this run: the seed's binary classifier, whose validation
        channel stops each candidate early, tunes its threshold and picks the best candidate."""
        swept = run["hyperparameters"]
        return training_job(
            run,
            params,
            channels=[
                configs.s3_channel("train", train["s3_uri"], RECORDIO),
                configs.s3_channel("validation", validation["s3_uri"], RECORDIO),
            ],
            hyperparameters={
                "predictor_type": "binary_classifier",
                "loss": LOSS,
                "feature_dim": train["feature_dim"],
                **{name: swept[name] for name in ("mini_batch_size", "epochs", "num_models")},
                "binary_classifier_model_selection_criteria": swept["model_selection_criteria"],
            },
        )

    trained = train(training_request(run, to_recordio["train"].output, to_recordio["validation"].output))
    register_model(
        trained, run, SPEC.package_group, 'Linear Learner binary classifiers of MNIST: "is it a 0?"'
    )
    deployed = deploy(run, trained)

    def classify_zeros(runtime, run: dict, digits, labels) -> bytes:
        """Send test digits to the endpoint as CSV; keep each one's predicted_label and score, with its
        image and 0/1 label, on S3."""
        from include.inference.classification import classification_predictions

        return classification_predictions(runtime, run["endpoint"], digits, labels)

    predictions = validate(run, to_recordio["test"].output, classify_zeros)
    report = classification_report(
        run, predictions, 'Linear Learner on MNIST, "is it a 0?" — {{ run_id }}', CLASS_NAMES
    )
    record_leaderboard(SPEC, run, trained, report, CLASSIFICATION_METRICS)

    deployed.endpoint >> predictions >> report >> deployed.teardown


linear_learner_mnist()
