# The two commands a new user needs (see README):
#   make demo   run the main job: a DAG on the local Code Ocean emulator
#   make test   run the whole test suite (lint, types, tests)
.PHONY: demo test test-airflow-2.11 docs clean

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

test-airflow-2.11:
	bash scripts/test-airflow-2.11.sh

docs:
	bash scripts/docs.sh

clean:
	rm -rf .venv .venv-airflow-2.11 .venv-docs .venv-python-3.10 .tools site .demo
