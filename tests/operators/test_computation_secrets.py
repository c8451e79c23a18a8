"""The API token never shows up in trigger kwargs, events, XCom, rendered fields, logs or exceptions."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from airflow_provider_codeocean.errors import CodeOceanNotFoundError, CodeOceanRunFailedError
from tests.operators.test_computation_support import ECHO, FAILING, LONG, MISSING, make_context, make_operator


def test_the_token_is_nowhere(
    emulator: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    from airflow.providers.common.compat.sdk import TaskDeferred

    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    # Synchronous success
    op = make_operator(capsule_id=ECHO, parameters=["x"], data_assets=[])
    context = make_context("ok")
    seen.append(repr(op.execute(context)))
    seen.append(repr(context["ti"].xcom))
    seen.extend(repr(getattr(op, field)) for field in op.template_fields)

    # A failed run and an API error
    for capsule_id, error in ((FAILING, CodeOceanRunFailedError), (MISSING, CodeOceanNotFoundError)):
        failing = make_context(f"fail-{capsule_id[:4]}")
        with pytest.raises(error) as raised:
            make_operator(capsule_id=capsule_id).execute(failing)
        seen.extend([str(raised.value), repr(raised.value.__dict__), repr(failing["ti"].xcom)])

    # Deferred: trigger kwargs and its events
    deferred_context = make_context("deferred")
    with pytest.raises(TaskDeferred) as deferred:
        make_operator(capsule_id=LONG, deferrable=True, timeout=0.05).execute(deferred_context)
    trigger = deferred.value.trigger
    seen.append(repr(trigger.serialize()))
    seen.append(repr(deferred.value.kwargs))
    events = asyncio.run(_events(trigger))
    seen.append(repr(events))
    seen.append(repr(deferred_context["ti"].xcom))

    seen.append(caplog.text)
    captured = capsys.readouterr()
    seen.extend([captured.out, captured.err])

    token = emulator.token
    assert token
    leaks = [text for text in seen if token in text]
    assert leaks == []


async def _events(trigger: Any) -> list[Any]:
    return [event.payload async for event in trigger.run()]
