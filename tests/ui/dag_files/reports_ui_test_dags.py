"""Airflow DAGs of the reports UI tests (a DAG bundle of their own): each run writes one report."""

from tests.support.report_dags import clustering_report_dag, plain_report_dag

reports_ui_alpha = clustering_report_dag("reports_ui_alpha")
reports_ui_beta = plain_report_dag("reports_ui_beta")
