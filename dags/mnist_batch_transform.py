"""
### Script-mode training and batch transform of MNIST digits

The seed "Using the Apache MXNet Module API with SageMaker Training and Batch Transformation": train an
MXNet Module script (`include/training_scripts/mnist_mxnet/mnist.py`) with the `mxnet-training:1.6.0`
image, classify one-digit CSV files with a batch transform, and read the outputs back as the notebook
does. The *framework* param offers PyTorch and scikit-learn too, each with its own `mnist.py` and images.

1. **plan_run** — names this run's SageMaker resources once, reads where it deploys (Airflow Variables
   `sagemaker_bucket`, `sagemaker_role_arn`, `sagemaker_region`; local defaults otherwise), settles the
   framework and hyperparameters (the params, or the grid point of the run's logical date) and the
   framework's images.
2. **ingest_training_data** — the train and test splits as the seed's gzip IDX pairs (the `train` and
   `test` channels); **ingest_test_digits** — the test split as one `data-<i>.csv` per digit.
3. **upload_source_dir** — packs the framework's script directory as `sourcedir.tar.gz`.
4. **train** — the framework's training image runs `mnist.py` with `--epochs`, `--batch-size` and
   `--learning-rate`, its hyperparameters encoded as the SageMaker SDK's estimator sends them; SageMaker
   reports `train:accuracy` and `validation:accuracy` (the test channel).
5. **repack_model** — the model as the SDK serves it: for MXNet and PyTorch (`MXNetModel`,
   `PyTorchModel`) `model.tar.gz` with the source directory under `code/`, served from
   `/opt/ml/model/code`; scikit-learn serves the artifact and downloads `sourcedir.tar.gz`.
   **register_model** records that container (inference image, archive, environment) in the
   `mnist-script-mode` model package group.
6. **batch_transform** — creates the model with the framework's inference image and transforms the
   digit files with `content_type='text/csv'`, as `transformer.transform(...)` sends it: each file is
   one request, answered by the framework's default handlers with `[[p0, ..., p9]]`.
7. **collect_predictions** — reads each `data-<i>.csv.out` as the notebook does
   (`ast.literal_eval(output)[0]`, argmax) and pairs it with test digit *i*'s label.
8. **classification_report** — accuracy, per-digit precision, recall and F1, the confusion matrix and
   the misclassified digits, as `report.html` and `metrics.json` under the run's S3 prefix.
9. **record_leaderboard** — appends the run (framework, hyperparameters, accuracy, macro F1, the
   script's metrics) to `s3://<bucket>/leaderboards/mnist-batch-transform/`, ranked by accuracy.
10. **teardown** — deletes the model whatever happened before; a failed run still ends failed.

**Sweeping by backfill.** With a grid in *sweep_grid* (over framework, epochs, batch_size and
learning_rate), each run of a backfill takes the next point:

    airflow backfill create --dag-id mnist_batch_transform --from-date 2026-01-01 --to-date 2026-01-21 \
        --dag-run-conf '{"sweep_grid": {"framework": ["mxnet", "pytorch", "sklearn"]}}' --max-active-runs 3

runs the Sundays 4, 11 and 18 January with MXNet, PyTorch and scikit-learn, all on one leaderboard.

Runs offline against the local SageMaker engine (each framework image runs in its own environment with
AWS's toolkits), or on AWS when the `aws_default` connection points there. Retries are safe.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from include.sagemaker_requests import batch_transform, configs
from mnist_workflows import form
from mnist_workflows.leaderboard import CLASSIFICATION_METRICS, record_leaderboard
from mnist_workflows.planning import plan_run
from mnist_workflows.reports import classification_report
from mnist_workflows.script_mode import (
    framework_plan,
    repack_model,
    script_training_job,
    serving_model_request,
    upload_source_dir,
)
from mnist_workflows.spec import MNIST_BATCH_TRANSFORM as SPEC
from mnist_workflows.training import ingest_mnist, register_model, train
from mnist_workflows.transform import transform, transform_outputs, transform_plan
from mnist_workflows.validation import read_each, read_object, write_object
from operators.sagemaker_cleanup import SageMakerCleanupOperator

DIGITS = [str(digit) for digit in range(10)]
CSV = "text/csv"


def plan_script_mode(plan) -> dict:
    """The framework's images, code and serving container, and the transform's names."""
    return framework_plan(plan, plan.hyperparameters["framework"]) | transform_plan(
        plan.names, f"{plan.prefix}/transform"
    )


@dag(
    **SPEC.dag_arguments(),
    schedule=SPEC.schedule,
    dag_display_name="Script mode + batch transform on MNIST",
    doc_md=__doc__,
    tags=["sagemaker", "mnist", "script-mode", "batch-transform", "classification"],
    params={
        **form.source(),
        **form.hyperparameters(
            framework=Param(
                "mxnet",
                enum=["mxnet", "pytorch", "sklearn"],
                title="Framework",
                description="The seed's MXNet 1.6.0 (Module API), PyTorch 2.6.0 or scikit-learn 1.2-1. "
                "MXNet is retired upstream (Apache attic, 2023): choose PyTorch for new work.",
            ),
            epochs=form.epochs(10, "Passes over the training digits (script argument --epochs)."),
            batch_size=form.mini_batch_size(100, "Digits per training step (script argument --batch-size)."),
            learning_rate=Param(
                0.1,
                type="number",
                exclusiveMinimum=0,
                maximum=10,
                title="Learning rate",
                description="The optimiser's step size (script argument --learning-rate).",
            ),
        ),
        **form.instance_type("For training and for the batch transform."),
        **form.sweep(SPEC, example={"framework": ["mxnet", "pytorch", "sklearn"]}),
    },
)
def mnist_batch_transform():
    run = plan_run(SPEC, extra=plan_script_mode)
    training_data = ingest_mnist(run, ["idx"], ["train", "test"], task_id="ingest_training_data").output
    test_digits = ingest_mnist(run, ["csv-digits"], ["test"], task_id="ingest_test_digits").output
    source_dir = upload_source_dir(run)

    @task
    def training_request(run: dict, data: dict, source_dir: str, params=None) -> dict:
        """The CreateTrainingJob request: the framework's image runs mnist.py on the IDX channels."""
        idx = data["outputs"]["idx"]
        # The seed's fit({"train": ..., "test": ...}) names no content type; the script reads the files.
        channels = [configs.s3_channel(split, idx[split]["s3_uri"], None) for split in ("train", "test")]
        arguments = {name.replace("_", "-"): value for name, value in run["hyperparameters"].items()}
        del arguments["framework"]
        return script_training_job(run, params, channels=channels, arguments=arguments)

    trained = train(training_request(run, training_data, source_dir))
    model_data = repack_model(run, trained.output, source_dir)
    served_by = {
        "image": run["serving_image"],
        "model_url": model_data,
        "environment": run["serving_environment"],
    }
    register_model(
        trained,
        run,
        SPEC.package_group,
        "MNIST digit classifiers trained in script mode",
        served_by=served_by,
    )

    @task
    def transform_request(run: dict, model_data: str, test_digits: dict, params=None) -> dict:
        """CreateModel and CreateTransformJob requests: one request per digit file, AWS's defaults else."""
        return {
            "Model": serving_model_request(run, model_data),
            "Transform": batch_transform.transform_job(
                name=run["transform_job"],
                model_name=run["model"],
                input_uri=test_digits["outputs"]["csv-digits"]["test"]["s3_uri"],
                output_path=run["transform_output"],
                content_type=CSV,
                **batch_transform.AWS_DEFAULTS,
                instance_type=params["instance_type"],
            ),
        }

    classify = transform(transform_request(run, model_data, test_digits), task_id="batch_transform")

    @task
    def collect_predictions(run: dict, training_data: dict, test_digits: dict, transform: dict) -> str:
        """Read each data-<i>.csv.out as the seed does and pair it with test digit i's image and label."""
        import tempfile
        from pathlib import Path

        from include.inference.batch_predictions import pair_digit_outputs, predictions_npz
        from include.mnist.idx import read_images, read_labels
        from include.mnist.writers.seed_files import idx_file_names

        test_idx = training_data["outputs"]["idx"]["test"]["s3_uri"]
        with tempfile.TemporaryDirectory() as scratch:
            images_file, labels_file = (Path(scratch, name) for name in idx_file_names("test"))
            for path in (images_file, labels_file):
                path.write_bytes(read_object(f"{test_idx.rstrip('/')}/{path.name}"))
            images, labels = read_images(images_file) / 255.0, read_labels(labels_file)
        keys = test_digits["outputs"]["csv-digits"]["test"]["keys"]
        digits, outs = zip(*transform_outputs(transform, run["bucket"], keys), strict=True)
        outputs = zip(digits, read_each(outs), strict=True)
        return write_object(run["predictions"], predictions_npz(*pair_digit_outputs(images, labels, outputs)))

    predictions = collect_predictions(run, training_data, test_digits, classify.output)
    framework = "{{ ti.xcom_pull(task_ids='plan_run', key='framework') }}"
    report = classification_report(
        run, predictions, f"MNIST in script mode, {framework} — {{{{ run_id }}}}", DIGITS
    )
    record_leaderboard(SPEC, run, trained, report, CLASSIFICATION_METRICS)

    teardown = SageMakerCleanupOperator(task_id="teardown", model_name=run["model"])
    report >> teardown.as_teardown(setups=[classify])


mnist_batch_transform()
