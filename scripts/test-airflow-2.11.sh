#!/usr/bin/env bash
# The test suite again under Airflow 2.11, the oldest Airflow the provider supports.
exec bash "$(dirname "$0")/test-airflow.sh" 2.11 "$@"
