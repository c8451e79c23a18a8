"""The one poll policy every wait follows (hook, operators on a worker, sensors, triggers); sans-I/O."""

from __future__ import annotations

from airflow_provider_codeocean._common.polling import DEFAULT_TRANSIENT_GRACE, PollPolicy
from airflow_provider_codeocean.errors import error_for_status

UNAVAILABLE = error_for_status(503, "Service Unavailable", method="GET", path="/api/v1/computations/x")
GONE = error_for_status(404, "Not Found", method="GET", path="/api/v1/computations/x")


def test_transient_errors_are_tolerated_for_the_grace_period_then_end_the_wait() -> None:
    policy = PollPolicy(10.0, transient_grace=60.0)
    assert policy.tolerates(UNAVAILABLE, now=1000.0)
    assert policy.tolerates(UNAVAILABLE, now=1059.0)
    assert not policy.tolerates(UNAVAILABLE, now=1060.0)
    assert policy.failing_for(1060.0) == 60.0


def test_an_answer_starts_the_count_again() -> None:
    policy = PollPolicy(10.0, transient_grace=60.0)
    policy.tolerates(UNAVAILABLE, now=1000.0)
    policy.answered()
    assert policy.tolerates(UNAVAILABLE, now=1059.0)
    assert policy.tolerates(UNAVAILABLE, now=1118.0)


def test_an_answer_seen_only_as_last_ok_starts_the_count_again() -> None:
    policy = PollPolicy(10.0, transient_grace=60.0)
    policy.tolerates(UNAVAILABLE, now=1000.0)
    assert policy.tolerates(UNAVAILABLE, now=1070.0, last_ok=1050.0)


def test_a_permanent_error_ends_the_wait_at_once() -> None:
    assert not PollPolicy(10.0).tolerates(GONE, now=0.0)


def test_the_execution_deadline_wins_and_sleeps_stop_at_the_first_deadline() -> None:
    policy = PollPolicy(30.0, end_time=100.0, execution_deadline=110.0)
    assert policy.deadline_passed(99.0) is None
    assert policy.deadline_passed(100.0) == "wait"
    assert policy.deadline_passed(110.0) == "execution"
    assert policy.sleep(0.0) == 30.0
    assert policy.sleep(90.0) == 10.0
    assert policy.until_deadline(120.0) == 0.0


def test_a_wait_without_deadlines_sleeps_one_interval_and_the_default_grace_is_ten_minutes() -> None:
    policy = PollPolicy.starting(now=5.0, interval=7.0, timeout=None)
    assert policy.deadline_passed(1e12) is None
    assert policy.sleep(1e12) == 7.0
    assert policy.transient_grace == DEFAULT_TRANSIENT_GRACE == 600.0
