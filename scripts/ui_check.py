"""The provider's UI checked in a real browser: the system Chromium driven by playwright (no browser download).

Used by ``deployment_check_production.py --ui`` on its running Airflow 3.3 deployment (connection form,
saving a connection through it, the "Code Ocean computation" link on the deferred and the finished task),
and run on its own (``main``) against an Airflow 2.11 webserver it starts with FAB login (connection form,
saving it with "Verify TLS certificates" ticked, the Test button). Screenshots are saved as
``<screenshots>/<name>.png``. The token is typed into password fields only and never printed.

Usage (Airflow 2.11): ui_check.py --bin-dir .venv-airflow-2.11/bin [--screenshots DIR] [--keep] [--timeout S]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import deployment_check as base  # a sibling script, not a package
from deployment_check import CheckFailed, Deployment

CHROMIUM = os.environ.get("CODEOCEAN_CHECK_CHROMIUM", "/usr/bin/chromium")
CONN_ID = "codeocean_ui_check"
# What the provider declares for its form (hooks/codeocean.py, get_provider_info.py); checked as rendered.
RELABELED = {"host": "Domain", "password": "API Token"}
PLACEHOLDERS = {"host": "https://acme.codeocean.com", "password": "cop_..."}
HIDDEN = ("Login", "Schema", "Port")
EXTRA_LABELS = ("Request timeout (s)", "Retry limit", "Verify TLS certificates", "Agent id", "Minimum server version")
LINK_NAME = "Code Ocean computation"
TIMEOUT_MS = 60_000


@dataclass
class Browser:
    playwright: Any
    browser: Any
    page: Any
    screenshots: Path
    token: str

    @classmethod
    def launch(cls, screenshots: Path, token: str, prefix: str) -> Browser:
        """Start Chromium; the screenshots of an earlier run of this check (``<prefix>-*.png``) are removed."""
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise CheckFailed("playwright is not installed (requirements/deployment-celery.txt)") from exc
        if not Path(CHROMIUM).exists():
            raise CheckFailed(f"{CHROMIUM} not found (apt-get install -y chromium)")
        screenshots.mkdir(parents=True, exist_ok=True)
        for old in screenshots.glob(f"{prefix}-*.png"):
            old.unlink()
        playwright = sync_playwright().start()
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
        except Exception:
            playwright.stop()
            raise
        page.set_default_timeout(TIMEOUT_MS)
        return cls(playwright, browser, page, screenshots, token)

    def shot(self, name: str) -> Path:
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        print(f"  screenshot {path}", flush=True)
        return path

    def close(self) -> None:
        try:
            self.browser.close()
        finally:
            self.playwright.stop()


def _step(browser: Browser, name: str, action: Any) -> Any:
    """Run one browser step; a playwright error or timeout becomes CheckFailed, with a screenshot."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        return action()
    except PlaywrightError as exc:
        with contextlib.suppress(PlaywrightError):
            browser.shot(f"{name}-failed")
        message = str(exc).replace(browser.token, "***").splitlines()[0]
        raise CheckFailed(f"browser step {name!r} failed: {message}") from None


# Airflow 3.3 (React UI, simple auth manager with every user an admin)


def check_connection_form_af3(browser: Browser, api: base.Api, emulator_url: str, token: str) -> None:
    """Open the Code Ocean form, check labels, hidden fields and extras, save a connection, read it back."""
    print("==> UI (Airflow 3.3): the Code Ocean connection form", flush=True)
    page = browser.page

    def open_form() -> Any:
        page.goto(f"{api.url}/connections")
        page.get_by_role("button", name="Add Connection").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_role("combobox").fill("Code Ocean")
        page.get_by_role("option", name="Code Ocean", exact=True).click()
        dialog.locator("input[name='host']").wait_for()
        return dialog

    dialog = _step(browser, "af3-connection-form", open_form)
    placeholders = {name: dialog.locator(f"input[name='{name}']").get_attribute("placeholder") for name in PLACEHOLDERS}

    def labels() -> list[str]:
        return [" ".join(label.split()) for label in dialog.locator("label").all_inner_texts()]

    def fill_standard() -> None:
        dialog.locator("input[name='connection_id']").fill(CONN_ID)
        dialog.locator("input[name='host']").fill(emulator_url)
        dialog.locator("input[name='password']").fill(token)
        browser.shot("af3-connection-form")
        # The sections are an accordion: opening the extras closes the standard fields.
        dialog.get_by_text("Extra Fields", exact=True).click()
        dialog.locator("input[name='element_request_timeout']").wait_for()

    standard = labels()
    _step(browser, "af3-connection-standard-fields", fill_standard)
    _expect_form([*standard, *labels()], lambda name: placeholders[name])

    def save() -> None:
        dialog.locator("input[name='element_request_timeout']").fill("45")
        dialog.locator("input[name='element_agent_id']").fill("airflow-ui-check")
        browser.shot("af3-connection-extras")
        dialog.get_by_role("button", name="Save").click()
        dialog.wait_for(state="hidden")

    _step(browser, "af3-connection-save", save)
    browser.shot("af3-connection-saved")
    read_back_connection(api, emulator_url)


def _expect_form(labels: list[str], placeholder: Any) -> None:
    missing = [label for label in (*RELABELED.values(), *EXTRA_LABELS) if label not in labels]
    shown = [label for label in HIDDEN if label in labels]
    if missing or shown:
        raise CheckFailed(f"connection form: labels missing {missing}, hidden fields shown {shown}; labels: {labels}")
    wrong = {name: placeholder(name) for name, text in PLACEHOLDERS.items() if placeholder(name) != text}
    if wrong:
        raise CheckFailed(f"connection form: unexpected placeholders {wrong}")
    print(f"  form: {', '.join(RELABELED.values())}; extras {', '.join(EXTRA_LABELS)}; no {', '.join(HIDDEN)}")


def read_back_connection(api: base.Api, emulator_url: str) -> None:
    conn = api.get(f"/connections/{CONN_ID}")
    extra = json.loads(conn.get("extra") or "{}")
    problems = []
    if conn.get("conn_type") != "codeocean" or conn.get("host") != emulator_url:
        problems.append(f"type {conn.get('conn_type')!r}, host {conn.get('host')!r}")
    if str(extra.get("request_timeout")) not in ("45", "45.0") or extra.get("agent_id") != "airflow-ui-check":
        problems.append(f"extra {extra}")
    if conn.get("port") or conn.get("login") or conn.get("schema"):
        problems.append("hidden fields were stored")
    if problems:
        raise CheckFailed(f"the connection saved through the form reads back wrong: {problems}")
    print(f"  saved {CONN_ID} through the form; REST API reads back type codeocean, host, extra {extra}")


def press_test_button_af3(browser: Browser, api: base.Api) -> tuple[int, str]:
    """Press the Test button of the saved connection in the list; return the API's status and message.

    Not asserted: Airflow 3.3.2's Test answers 400 for a stored connection without a port (the UI sends
    port 0, which the API takes for a different destination; apache/airflow#73298). The caller reports it.
    """
    page = browser.page

    def press() -> Any:
        page.goto(f"{api.url}/connections")
        row = page.get_by_role("row").filter(has_text=CONN_ID)
        with page.expect_response(lambda r: r.url.endswith("/api/v2/connections/test")) as answer:
            row.get_by_role("button", name=re.compile("test", re.IGNORECASE)).first.click()
        page.wait_for_timeout(1000)
        return answer.value

    response = _step(browser, "af3-connection-test", press)
    browser.shot("af3-connection-tested")
    try:
        body = response.json()
    except ValueError:
        body = {}
    message = str(body.get("message") or body.get("detail") or "").replace(browser.token, "***")
    return int(response.status), " ".join(message.split())


def cli_connection_test(dep: Deployment, conn_id: str) -> None:
    """``airflow connections test`` of the stored connection succeeds (the output is kept, not printed)."""
    cli = subprocess.run(
        [str(dep.bin_dir / "airflow"), "connections", "test", conn_id],
        env=dep.env,
        cwd=dep.work,
        capture_output=True,
        text=True,
        timeout=dep.remaining(120),
        check=False,
    )
    (dep.work / "connections-test.log").write_text(cli.stdout + cli.stderr)
    if cli.returncode != 0 or "Connection success!" not in cli.stdout:
        raise CheckFailed(f"airflow connections test {conn_id} failed ({cli.returncode}); see connections-test.log")
    print(f"  airflow connections test {conn_id}: Connection success!", flush=True)


def check_computation_link_af3(
    browser: Browser, api_url: str, dag_id: str, run_id: str, emulator_url: str, state: str
) -> None:
    """The run task's "Code Ocean computation" link points at the emulator's page of its computation."""
    task_id = base.RUN_TASK
    print(f"==> UI (Airflow 3.3): the {LINK_NAME!r} link on the {state} task", flush=True)
    page = browser.page

    def find_link() -> str:
        # Airflow 3.3 shows a task's extra links on its Details tab.
        page.goto(f"{api_url}/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/details")
        link = page.get_by_role("link", name=LINK_NAME)
        link.wait_for()
        # The page shows the task's state: the link must be there while it is deferred, not only after.
        page.get_by_text(state.capitalize(), exact=True).first.wait_for()
        return str(link.get_attribute("href"))

    href = _step(browser, f"af3-link-{state}", find_link)
    browser.shot(f"af3-task-{state}")
    prefix = f"{emulator_url}/computations/"
    if not href.startswith(prefix) or len(href) <= len(prefix):
        raise CheckFailed(f"the {LINK_NAME!r} link of the {state} task is {href!r}, not {prefix}<id>")
    computation_id = href[len(prefix) :]

    def follow() -> Any:
        response = page.goto(href)
        page.get_by_text(computation_id).first.wait_for()
        return response

    response = _step(browser, f"af3-computation-page-{state}", follow)
    content_type = response.headers.get("content-type", "")
    if response.status != 200 or "text/html" not in content_type:
        raise CheckFailed(f"{href} answered {response.status} {content_type}")
    browser.shot(f"af3-computation-page-{state}")
    print(f"  {LINK_NAME} -> {href}: HTML page of computation {computation_id}", flush=True)


# Airflow 2.11 (FAB webserver)


def check_airflow2(dep: Deployment, args: argparse.Namespace) -> None:
    token = "cop_ui_check_" + os.urandom(8).hex()
    print("==> Code Ocean emulator", flush=True)
    emulator_url = base.start_emulator(dep, token)
    port = base.free_port()
    url = f"http://127.0.0.1:{port}"
    dep.env = base.airflow_env(
        dep,
        port,
        emulator_url,
        token,
        {
            "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__WEBSERVER__SECRET_KEY": base64_secret(),
            "AIRFLOW__WEBSERVER__WORKERS": "1",
            "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(port),
        },
    )
    base.migrate(dep)
    password = base64_secret()
    users = [
        *("users", "create", "--username", "admin", "--role", "Admin", "--email", "admin@example.com"),
        *("--firstname", "Ui", "--lastname", "Check", "--password", password),
    ]
    created = subprocess.run(
        [str(dep.bin_dir / "airflow"), *users],
        env=dep.env,
        cwd=dep.work,
        capture_output=True,
        timeout=dep.remaining(120),
        check=False,
    )
    if created.returncode != 0:
        raise CheckFailed("airflow users create failed:\n" + created.stderr.decode()[-2000:])
    print("==> airflow webserver (Airflow 2.11, FAB)", flush=True)
    dep.start("webserver", "airflow", "webserver", "--hostname", "127.0.0.1", "--port", str(port), "--workers", "1")
    base.wait_for("the webserver", dep, 180, lambda: base.http_json("GET", f"{url}/health"))

    browser = Browser.launch(args.screenshots, token, "af2")
    try:
        tested, message = check_connection_form_af2(browser, url, password, emulator_url, token)
    finally:
        browser.close()
    cli_connection_test(dep, CONN_ID)
    # Known: the 2.11 form's Test sends the ticked box as "y" (the saved form stores a boolean).
    if tested is not True:
        raise CheckFailed(f"the 2.11 form's Test button failed for a valid connection: {message!r}")


def base64_secret() -> str:
    return os.urandom(16).hex()


def check_connection_form_af2(
    browser: Browser, url: str, password: str, emulator_url: str, token: str
) -> tuple[Any, str]:
    """Check the 2.11 form, press Test with the TLS box ticked, save; return Test's status and message."""
    print("==> UI (Airflow 2.11): the Code Ocean connection form", flush=True)
    page = browser.page

    def login_and_open() -> None:
        page.goto(f"{url}/login/")
        page.fill("#username", "admin")
        page.fill("#password", password)
        page.click("input[type=submit]")
        page.wait_for_url(lambda u: "/login" not in u)
        page.goto(f"{url}/connection/add")
        page.select_option("#conn_type", "codeocean")
        page.get_by_text(EXTRA_LABELS[0]).first.wait_for()

    _step(browser, "af2-connection-form", login_and_open)
    browser.shot("af2-connection-form")
    labels = page.evaluate(
        """() => [...document.querySelectorAll('form label')]
            .filter(l => l.offsetParent !== null)
            .map(l => l.innerText.replace(/\\s+/g, ' ').trim())"""
    )
    _expect_form(labels, lambda name: page.get_attribute(f"#{name}", "placeholder"))

    def fill_and_test() -> dict[str, Any]:
        page.fill("#conn_id", CONN_ID)
        page.fill("#host", emulator_url)
        page.fill("#password", token)
        page.fill("#extra__codeocean__request_timeout", "45")
        page.fill("#extra__codeocean__agent_id", "airflow-ui-check")
        page.check("#extra__codeocean__verify_ssl")
        browser.shot("af2-connection-filled")
        with page.expect_response(lambda r: r.url.endswith("/api/v1/connections/test")) as answer:
            page.click("#test-connection")
        page.locator(".alert").last.wait_for()
        result: dict[str, Any] = answer.value.json()
        return result

    result = _step(browser, "af2-connection-test", fill_and_test)
    browser.shot("af2-connection-tested")
    message = " ".join(str(result.get("message")).replace(token, "***").split())
    print(f"  Test button: status {result.get('status')}, {message!r}", flush=True)

    def save() -> dict[str, Any]:
        page.click("#test-connection ~ button, button:has-text('Save'), input[type=submit][value=Save]")
        page.wait_for_url(lambda u: "/connection/add" not in u)
        # The REST API of 2.11, with the browser's session.
        stored: dict[str, Any] = page.request.get(f"{url}/api/v1/connections/{CONN_ID}").json()
        return stored

    stored = _step(browser, "af2-connection-save", save)
    browser.shot("af2-connection-saved")
    extra = json.loads(stored.get("extra") or "{}")
    if stored.get("conn_type") != "codeocean" or stored.get("host") != emulator_url:
        raise CheckFailed(f"the connection saved through the 2.11 form reads back wrong: {stored.get('conn_type')}")
    if str(extra.get("request_timeout")) not in ("45", "45.0") or extra.get("agent_id") != "airflow-ui-check":
        raise CheckFailed(f"the connection saved through the 2.11 form has extra {extra}")
    print(f"  saved {CONN_ID} through the form (Verify TLS ticked); REST API reads back extra {extra}", flush=True)
    return result.get("status"), message


def add_options(parser: argparse.ArgumentParser) -> None:
    """``--screenshots DIR``: where the UI checks save their screenshots."""
    parser.add_argument("--screenshots", type=Path, default=base.ROOT / ".ci-artifacts" / "screenshots")


def main() -> int:
    return base.run_main(__doc__ or "", check_airflow2, 300.0, add_options)


if __name__ == "__main__":
    sys.exit(main())
