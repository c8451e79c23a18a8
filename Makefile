# The two commands a new user needs (see README):
#   make demo   run the main job: a DAG on the local Code Ocean emulator
#   make test   run the whole test suite (lint, types, tests)
.PHONY: demo test test-airflow-2.11 test-airflow-3.0 test-airflow-3.1 test-airflow-3.2 docs clean

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

# The suite under another Airflow line, from requirements/airflow-LINE.txt (what .ci/run adds).
test-airflow-2.11 test-airflow-3.0 test-airflow-3.1 test-airflow-3.2:
	bash scripts/test-airflow.sh $(subst test-airflow-,,$@)

docs:
	bash scripts/docs.sh

clean:
	rm -rf .venv .venv-airflow-* .venv-docs .venv-python-3.10 .tools site .demo .ci-logs
