"""What importing the provider's operators and sensors adds to parsing a DAG file, in CPU time.

A DAG file imports ``airflow.sdk`` (Airflow 3) and the operators it uses; the scheduler's DAG processor
pays that import in every fresh parsing process. This runs, in alternation, ``--runs`` fresh interpreters
that import ``airflow.sdk`` alone and as many that import it and then every operator and sensor module of
the provider, and prints the median CPU time (user + system, from the child's rusage) of each, their ratio,
and how many modules the provider's import adds. Interpreter start-up is in both figures, as it is in a
real parse.

    python benchmarks/parse_cost.py --runs 40
"""

from __future__ import annotations

import argparse
import json
import os
import pkgutil
import statistics
import subprocess
import sys

BASELINE = "import airflow.sdk"
COUNT = "import sys\n{code}\nprint(len(sys.modules))"


def provider_modules() -> list[str]:
    """Every public operator and sensor module (found on disk; the packages' ``__init__`` is empty)."""
    import airflow_provider_codeocean.operators
    import airflow_provider_codeocean.sensors

    return [
        f"{package.__name__}.{info.name}"
        for package in (airflow_provider_codeocean.operators, airflow_provider_codeocean.sensors)
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")
    ]


def cpu_seconds(code: str) -> float:
    """CPU time of one fresh interpreter running ``code``."""
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"the probe failed ({process.returncode}): {code!r}")
    return usage.ru_utime + usage.ru_stime


def modules_loaded(code: str) -> int:
    out = subprocess.run([sys.executable, "-c", COUNT.format(code=code)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="fresh processes per variant (default 40)")
    args = parser.parse_args()
    modules = provider_modules()
    with_provider = BASELINE + "\n" + "\n".join(f"import {m}" for m in modules)

    cpu_seconds(with_provider)  # warm the OS file cache and __pycache__ before measuring
    baseline: list[float] = []
    provider: list[float] = []
    # Alternated, so drift in machine load affects both variants alike.
    for _ in range(args.runs):
        baseline.append(cpu_seconds(BASELINE))
        provider.append(cpu_seconds(with_provider))
    base_ms, with_ms = statistics.median(baseline) * 1000, statistics.median(provider) * 1000
    result = {
        "python": sys.version.split()[0],
        "runs": args.runs,
        "modules": modules,
        "baseline_ms": round(base_ms, 1),
        "with_provider_ms": round(with_ms, 1),
        "added_ms": round(with_ms - base_ms, 1),
        "ratio": round(with_ms / base_ms, 3),
        "added_modules": modules_loaded(with_provider) - modules_loaded(BASELINE),
    }
    print(
        f"import airflow.sdk: {base_ms:.1f} ms; + operators and sensors: {with_ms:.1f} ms "
        f"(+{with_ms - base_ms:.1f} ms, +{result['added_modules']} modules); ratio {with_ms / base_ms:.3f} "
        f"(medians of {args.runs} fresh processes each)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
