"""
### k-means hyperparameter sweep on MNIST

Trains one k-means model per point of a hyperparameter grid and ranks them on a leaderboard. The grid
(param *grid*) maps hyperparameter names to lists of values; its points are every combination
(`include/sweeps/grid.py`), e.g. `{"k": [8, 10, 12], "init_method": ["random", "kmeans++"]}` is six jobs.

1. **plan_run** — checks the grid, expands it into points and names every job of this run (unique per
   run and point, e.g. `kmeans-sweep-p3-<run token>`); reads the bucket, role and region (Airflow
   Variables `sagemaker_bucket`, `sagemaker_role_arn`, `sagemaker_region`; local defaults otherwise).
2. **ingest_mnist** — uploads the train and test splits as recordIO-protobuf.
3. **choose_strategy** — *mapped* or *tuning* (param *strategy*):
   - **mapped**: **training_requests** builds one training job per point and **train** fans them out
     with dynamic task mapping (one task per point, labelled with its values). The tasks are
     deferrable: a running job waits in the triggerer and holds no worker slot. At most 4 jobs of a
     run train at once (`MAPPED_PARALLEL_JOBS`; Airflow fixes it when the file is parsed).
   - **tuning**: **tuning_request** turns the grid into categorical ranges of one SageMaker tuning job
     (Grid or Random strategy, *max_parallel_jobs* at once, objective `test:msd` minimised) and **tune**
     runs it, deferrable too.
4. **collect_results** — one leaderboard entry per trained point: its hyperparameters, `test:msd`,
   `test:ssd`, training job and model artifact.
5. **record_leaderboard** — appends the entries to `s3://<bucket>/leaderboards/<leaderboard>/` (one object
   per entry, so concurrent runs never collide) and rewrites `leaderboard.json`, `.csv` and `.html`,
   ranked by `test:msd`.
6. **register_best_model** — registers this run's best model in the `kmeans-sweep` model package group.

A sweep only trains: it deploys no endpoint and creates no model, so there is nothing to tear down.
Retries are safe: a retried training or tuning task waits for the job its first try started.
"""

from __future__ import annotations

from airflow.providers.amazon.aws.operators.sagemaker import SageMakerRegisterModelVersionOperator
from airflow.sdk import Param, dag, task

from include.sagemaker_requests import configs
from include.sweeps.tuning import STRATEGIES, tuning_job
from mnist_workflows import form
from mnist_workflows.planning import plan_run
from mnist_workflows.spec import KMEANS_SWEEP as SPEC
from mnist_workflows.sweep import collect_results, grid_points
from mnist_workflows.training import ingest_mnist, recordio_channels
from operators.leaderboard import LeaderboardOperator
from operators.sagemaker_resumable import ResumableTrainingOperator, ResumableTuningOperator

FEATURE_DIM = 784
OBJECTIVE = SPEC.metric
# Airflow fixes a mapped task's concurrency when the file is parsed, so a param cannot change it.
MAPPED_PARALLEL_JOBS = 4
POINT_TAG = "sweep-point"


@dag(
    **SPEC.dag_arguments(),
    schedule=SPEC.schedule,
    dag_display_name="k-means sweep on MNIST",
    doc_md=__doc__,
    tags=["sagemaker", "mnist", "kmeans", "sweep"],
    params={
        "grid": Param(
            {"k": [8, 10, 12], "init_method": ["random", "kmeans++"]},
            type="object",
            title="Hyperparameter grid",
            section=form.SWEEP,
            description="Hyperparameter name → list of values; every combination is trained once. "
            f"Names: {', '.join(SPEC.swept)}.",
        ),
        "strategy": Param(
            "mapped",
            enum=["mapped", "tuning"],
            title="Strategy",
            section=form.SWEEP,
            description="mapped: one Airflow task and training job per point. tuning: one SageMaker "
            "hyperparameter tuning job over the grid.",
        ),
        "tuning_strategy": Param(
            "Grid",
            enum=list(STRATEGIES),
            title="Tuning strategy",
            section=form.SWEEP,
            description="For strategy tuning: Grid trains every point once; Random draws as many jobs.",
        ),
        "max_parallel_jobs": Param(
            2,
            type="integer",
            minimum=1,
            maximum=100,
            title="Parallel jobs (tuning)",
            section=form.SWEEP,
            description="For strategy tuning: training jobs at once. Mapped runs train at most "
            f"{MAPPED_PARALLEL_JOBS} points at once.",
        ),
        **form.source(),
        **form.hyperparameters(
            epochs=form.epochs(1, "Passes over the training data (unless the grid sweeps epochs)."),
            mini_batch_size=form.mini_batch_size(
                5000, "Records per mini-batch (unless the grid sweeps mini_batch_size)."
            ),
        ),
        **form.instance_type("Of every training job."),
        **form.leaderboard(SPEC),
    },
)
def kmeans_sweep():
    run = plan_run(SPEC, extra=grid_points(SPEC.swept))
    data = ingest_mnist(run, formats=["recordio"], splits=["train", "test"]).output

    def point_request(run: dict, data: dict, params: dict, name: str, values: dict) -> dict:
        return configs.training_job(
            name=name,
            image=run["image"],
            role_arn=run["role_arn"],
            channels=recordio_channels(data, ("train", "test")),
            output_path=run["output_path"],
            hyperparameters={
                "k": 10,
                "init_method": "random",
                "epochs": params["epochs"],
                "mini_batch_size": params["mini_batch_size"],
                **values,
                "feature_dim": FEATURE_DIM,
                "force_dense": True,  # the SageMaker SDK's KMeans always sends it
                "eval_metrics": ["msd", "ssd"],
            },
            instance_type=params["instance_type"],
        )

    @task.branch
    def choose_strategy(params=None) -> str:
        """Fan the grid out as mapped tasks, or hand it to one SageMaker tuning job."""
        return "training_requests" if params["strategy"] == "mapped" else "tuning_request"

    @task
    def training_requests(run: dict, data: dict, params=None) -> list[dict]:
        """One CreateTrainingJob request per grid point, tagged with the point's values."""
        requests = []
        for point in run["points"]:
            request = point_request(run, data, params, point["training_job"], point["values"])
            request["Tags"] = [{"Key": POINT_TAG, "Value": point["label"]}]
            requests.append(request)
        return requests

    requests = training_requests(run, data)
    train = ResumableTrainingOperator.partial(
        task_id="train",
        print_log=True,
        check_interval=5,
        max_attempts=720,  # an hour of polling per job
        deferrable=True,
        max_active_tis_per_dagrun=MAPPED_PARALLEL_JOBS,
        map_index_template="{{ task.config['Tags'][0]['Value'] }}",
    ).expand(config=requests)

    @task
    def tuning_request(run: dict, data: dict, params=None) -> dict:
        """The CreateHyperParameterTuningJob request tuning the grid's hyperparameters."""
        template = point_request(run, data, params, run["tuning_job"], {})
        return tuning_job(
            name=run["tuning_job"],
            training=template,
            grid=params["grid"],
            strategy=params["tuning_strategy"],
            max_parallel_jobs=params["max_parallel_jobs"],
            objective_metric=OBJECTIVE,
            random_seed=7,
        )

    tuning = tuning_request(run, data)
    # The tuning trigger polls at most 480 times, so 15 s allows a tuning job up to two hours.
    tune = ResumableTuningOperator(task_id="tune", config=tuning, check_interval=15, deferrable=True)

    record_leaderboard = LeaderboardOperator(
        task_id="record_leaderboard",
        bucket=run["bucket"],
        leaderboard="{{ params.leaderboard }}",
        entries=collect_results(run, train.output, tune.output, objective=OBJECTIVE),
        metric=OBJECTIVE,
        direction=SPEC.direction,
    )
    best = "ti.xcom_pull(task_ids='record_leaderboard')['run_best']"

    register_best_model = SageMakerRegisterModelVersionOperator(
        task_id="register_best_model",
        image_uri=run["image"],
        model_url="{{ " + best + "['model_artifact'] }}",
        package_group_name=SPEC.package_group,
        package_group_desc="Best k-means model of each sweep over MNIST",
        package_desc="{{ run_id }}: {{ " + best + "['hyperparameters'] }}",
    )

    choose_strategy() >> [requests, tuning]
    record_leaderboard >> register_best_model


kmeans_sweep()
