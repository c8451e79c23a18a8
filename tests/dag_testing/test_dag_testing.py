"""run_dag_test's own rules: the throwaway environment it builds, and the errors it raises."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_codeocean.testing.dag_testing import DagTestError, airflow_environment, run_dag_test


def test_the_environment_is_a_throwaway_airflow(tmp_path: Path) -> None:
    base = {
        "PATH": "/usr/bin",
        "AIRFLOW_HOME": "/real/home",
        "AIRFLOW_CONFIG": "/real/airflow.cfg",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://real",
        "AIRFLOW__CORE__PARALLELISM": "64",
        "AIRFLOW_VAR_REGION": "eu",
        "AIRFLOW_CONN_OTHER": "http://x",
    }
    env = airflow_environment(tmp_path, tmp_path / "dags", airflow_major=3, base=base)

    assert env["AIRFLOW_HOME"] == str(tmp_path)
    assert "AIRFLOW_CONFIG" not in env
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'airflow.db'}"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(tmp_path / "dags")
    assert "AIRFLOW__CORE__PARALLELISM" not in env  # inherited settings never reach the test
    # Variables, connections and everything else pass through.
    assert (env["PATH"], env["AIRFLOW_VAR_REGION"], env["AIRFLOW_CONN_OTHER"]) == ("/usr/bin", "eu", "http://x")
    assert "AIRFLOW__CORE__EXECUTOR" not in env
    assert airflow_environment(tmp_path, tmp_path, airflow_major=2, base={})["AIRFLOW__CORE__EXECUTOR"] == (
        "SequentialExecutor"
    )


def test_a_missing_dag_file_or_one_outside_the_dag_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DagTestError, match="no DAG file"):
        run_dag_test(tmp_path / "missing.py")
    dag_file = tmp_path / "dags" / "d.py"
    dag_file.parent.mkdir()
    dag_file.write_text("")
    with pytest.raises(DagTestError, match="not inside the DAG folder"):
        run_dag_test(dag_file, dags_folder=tmp_path / "elsewhere")


@pytest.mark.integration
def test_a_dag_file_that_does_not_import_says_why(tmp_path: Path) -> None:
    dag_file = tmp_path / "dags" / "broken_dag.py"
    dag_file.parent.mkdir()
    dag_file.write_text("# an airflow DAG\nimport module_that_is_not_installed_anywhere\n")

    with pytest.raises(DagTestError, match="module_that_is_not_installed_anywhere") as raised:
        run_dag_test(dag_file, airflow_home=tmp_path / "home")
    assert "could not be imported" in str(raised.value)
    assert (tmp_path / "home" / "dag_test.log").exists()
