"""What a user sees when triggering a DAG: every param in one of the form's sections, and the MNIST source
offering its named sources as suggestions."""

from __future__ import annotations

import pytest

from tests.support.dags import REPO, load_dag

DAG_IDS = sorted(path.stem for path in (REPO / "dags").glob("*.py"))
SECTIONS = {"Data", "Hyperparameters", "Deployment", "Sweep"}


@pytest.fixture(scope="module", params=DAG_IDS)
def params(request) -> dict:
    dag_params = load_dag(request.param).params
    return {name: dag_params.get_param(name) for name in dag_params}


def test_every_param_sits_in_a_section_of_the_form(params: dict) -> None:
    outside = {name: param.schema.get("section") for name, param in params.items()}
    assert {name: section for name, section in outside.items() if section not in SECTIONS} == {}


def test_the_source_suggests_the_named_sources(params: dict) -> None:
    source = params["source"]
    assert source.schema["section"] == "Data"
    assert {"sample", "mnist", "fashion-mnist"} <= set(source.schema["examples"])
    assert source.value in source.schema["examples"]
