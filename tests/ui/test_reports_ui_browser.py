"""The reports UI as a person uses it: a real api-server (the devstack's environment, on free ports) over
a metadata database in which kmeans_mnist really ran against the local SageMaker engine; headless
Chromium logs in through the login form, opens "Reports", clicks the run's report and sees it rendered
inside the Airflow UI. The screenshot is kept in ``test-artifacts/reports_ui.png``."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from include.devstack.processes import PidFile, ProcessSpec, free_port, responds, start, stop, wait_until
from include.devstack.settings import LOGIN, StackSettings, airflow_environment
from tests.support.browser import start_chromium

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "test-artifacts" / "reports_ui.png"
RUN_TAB_SCREENSHOT = SCREENSHOT.with_name("reports_ui_run_tab.png")
DAG_ID = "kmeans_mnist"
REPORT_TASK = "clustering_report"
API_SERVER = "api-server"
DAG_RUN_TIMEOUT = 1200
WAIT = 90

# dag.test() in a child interpreter, so Airflow reads the stack's AIRFLOW_HOME and connection from the start.
_RUN_DAG = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
if bag.import_errors:
    raise SystemExit(f"DAG import errors: {bag.import_errors}")
run = bag.dags[sys.argv[2]].test(run_conf=json.loads(sys.argv[3]))
print("RUN_RESULT " + json.dumps({"run_id": run.run_id, "state": str(run.state)}))
"""


@dataclass(frozen=True)
class Stack:
    settings: StackSettings
    run_id: str


def _log_tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def _run_kmeans_mnist(env: dict[str, str], log: Path) -> str:
    """A finished, successful kmeans_mnist run in the stack's database; returns its run id."""
    conf = {"validation_records": 200}
    completed = subprocess.run(
        [sys.executable, "-c", _RUN_DAG, str(REPO / "dags"), DAG_ID, json.dumps(conf)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=DAG_RUN_TIMEOUT,
        check=False,
    )
    log.write_text(completed.stdout + completed.stderr)
    results = [line for line in completed.stdout.splitlines() if line.startswith("RUN_RESULT ")]
    assert results, f"{DAG_ID} did not finish (log {log}):\n{completed.stderr[-3000:]}"
    outcome = json.loads(results[-1].removeprefix("RUN_RESULT "))
    assert outcome["state"] == "success", f"{DAG_ID} ended {outcome['state']} (log {log})"
    return outcome["run_id"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The local engine and an api-server over a database holding one finished kmeans_mnist run."""
    from include.local_sagemaker.engine import LocalSageMaker

    root = tmp_path_factory.mktemp("reports-ui-stack")
    engine = LocalSageMaker(root / "engine").start()
    settings = StackSettings(
        root=root, api_port=free_port(), engine_port=int(engine.endpoint_url.rsplit(":", 1)[1])
    )
    env = airflow_environment(settings)
    env["AIRFLOW__API__WORKERS"] = "1"
    api_server = PidFile(settings.run_dir, API_SERVER)
    try:
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True
        )
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        # One after the other: SQLite takes one writer at a time.
        run_id = _run_kmeans_mnist(env, settings.log_dir / "dag-test.log")
        process = start(
            ProcessSpec(API_SERVER, [sys.executable, "-m", "airflow", "api-server"]),
            env,
            settings.run_dir,
            settings.log_dir,
            REPO,
        )
        health = f"{settings.api_url}/api/v2/monitor/health"
        try:
            wait_until(lambda: responds(health), API_SERVER, 240, process)
        except (TimeoutError, RuntimeError) as error:
            pytest.fail(f"{error}\n{_log_tail(settings.log_dir / f'{API_SERVER}.log')}")
        yield Stack(settings, run_id)
    finally:
        stop(api_server)  # the whole process group: uvicorn and its workers
        engine.stop()


def _api_token(settings: StackSettings) -> str:
    user, password = LOGIN
    request = urllib.request.Request(
        f"{settings.api_url}/auth/token",
        data=json.dumps({"username": user, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["access_token"]


def _api_get(settings: StackSettings, path: str) -> dict:
    request = urllib.request.Request(
        settings.api_url + path, headers={"Authorization": f"Bearer {_api_token(settings)}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _report_url(stack: Stack) -> str:
    from reports_ui.urls import URL_PREFIX, report_path

    return stack.settings.api_url + URL_PREFIX + report_path(DAG_ID, stack.run_id, REPORT_TASK)


def test_the_report_task_links_to_its_report_in_the_ui(stack: Stack) -> None:
    links = _api_get(
        stack.settings, f"/api/v2/dags/{DAG_ID}/dagRuns/{stack.run_id}/taskInstances/{REPORT_TASK}/links"
    )
    assert links["extra_links"] == {"Report": _report_url(stack)}


def test_a_logged_in_user_sees_the_report_rendered_inside_airflow(stack: Stack, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    api_url = stack.settings.api_url
    driver = start_chromium(tmp_path / "chromium-profile")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    try:
        wait = WebDriverWait(driver, WAIT)
        # Unauthenticated, the report itself is refused.
        driver.get(_report_url(stack))
        assert "Not authenticated" in driver.page_source
        assert not driver.find_elements(By.TAG_NAME, "img")

        driver.get(f"{api_url}/")
        user, password = LOGIN
        wait.until(ready.presence_of_element_located((By.NAME, "username"))).send_keys(user)
        driver.find_element(By.NAME, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda d: "/auth/login" not in d.current_url)

        nav_entry = wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "a[href$='/plugin/reports']")))
        nav_entry.click()
        wait.until(ready.frame_to_be_available_and_switch_to_it((By.CSS_SELECTOR, "iframe[title='Reports']")))
        # The index links to the report by its path under the api-server.
        report_link = (By.CSS_SELECTOR, f"a.report-link[href='{_report_url(stack).removeprefix(api_url)}']")
        wait.until(ready.element_to_be_clickable(report_link)).click()

        wait.until(lambda d: d.find_elements(By.ID, "metric-purity"))
        wait.until(
            lambda d: d.execute_script(
                "const images = [...document.images];"
                "return images.length > 0 && images.every(i => i.complete && i.naturalWidth > 0);"
            )
        )
        purity = float(driver.find_element(By.ID, "metric-purity").text)
        nmi = float(driver.find_element(By.ID, "metric-nmi").text)
        assert driver.find_element(By.ID, "montage").is_displayed()
        assert 0.35 < purity <= 1.0, purity  # ten digits by chance: about 0.11
        assert 0.3 < nmi <= 1.0, nmi

        driver.switch_to.default_content()
        assert "/plugin/reports" in driver.current_url
        assert driver.save_screenshot(str(SCREENSHOT)), f"could not write {SCREENSHOT}"
        print(f"Screenshot of the rendered report: {SCREENSHOT}")

        # The run's page has a "Reports" tab listing the same report.
        driver.get(f"{api_url}/dags/{DAG_ID}/runs/{quote(stack.run_id, safe='')}/plugin/run-reports")
        wait.until(ready.frame_to_be_available_and_switch_to_it((By.CSS_SELECTOR, "iframe[title='Reports']")))
        wait.until(ready.presence_of_element_located(report_link))
        driver.switch_to.default_content()
        driver.save_screenshot(str(RUN_TAB_SCREENSHOT))
    except Exception:
        failure = SCREENSHOT.with_name("reports_ui_failure.png")
        driver.switch_to.default_content()
        driver.save_screenshot(str(failure))
        print(f"Screenshot at the failure: {failure} (page {driver.current_url})")
        raise
    finally:
        driver.quit()
