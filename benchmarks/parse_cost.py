"""What importing the provider's operators and sensors adds to parsing a DAG file, in CPU time.

A DAG file imports ``airflow.sdk`` (Airflow 3) and the operators it uses; the scheduler's DAG processor
pays that import in every fresh parsing process. This runs, in alternation, ``--runs`` fresh interpreters
that import ``airflow.sdk`` alone and as many that import it and then every operator and sensor module of
the provider, and prints the median CPU time (user + system) of each import, their ratio (also taken
within each process, which is less sensitive to load on the machine), and how many modules the
provider's import adds.

    python benchmarks/parse_cost.py --runs 40
"""

from __future__ import annotations

import argparse
import json
import pkgutil
import statistics
import subprocess
import sys

# Timed inside the fresh process with process_time (user + system CPU of this process), so interpreter
# start-up, which no provider can change, is left out of both figures; the ratio is then conservative.
PROBE = """
import importlib, json, sys, time
start = time.process_time()
import airflow.sdk
sdk = time.process_time() - start
before = len(sys.modules)
start = time.process_time()
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps({"sdk": sdk, "provider": time.process_time() - start, "modules": len(sys.modules) - before}))
"""


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


def probe(modules: list[str]) -> dict[str, float]:
    """CPU seconds of ``import airflow.sdk`` and then of ``modules``, in one fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", PROBE, *modules], capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="fresh processes per variant (default 40)")
    args = parser.parse_args()
    modules = provider_modules()

    probe(modules)  # warm the OS file cache and __pycache__ before measuring
    alone: list[float] = []
    runs: list[dict[str, float]] = []
    # Alternated, so drift in machine load affects both variants alike.
    for _ in range(args.runs):
        alone.append(probe([])["sdk"])
        runs.append(probe(modules))
    base = statistics.median(alone) * 1000
    with_provider = statistics.median(r["sdk"] + r["provider"] for r in runs) * 1000
    added = statistics.median(r["provider"] for r in runs) * 1000
    in_process = statistics.median((r["sdk"] + r["provider"]) / r["sdk"] for r in runs)
    result = {
        "python": sys.version.split()[0],
        "runs": args.runs,
        "modules": modules,
        "sdk_alone_ms": round(base, 1),
        "sdk_and_provider_ms": round(with_provider, 1),
        "provider_ms": round(added, 1),
        "ratio": round(with_provider / base, 3),
        "ratio_same_process": round(in_process, 3),
        "provider_modules_loaded": int(statistics.median(r["modules"] for r in runs)),
    }
    print(
        f"import airflow.sdk: {base:.1f} ms CPU; then the operators and sensors: +{added:.1f} ms, "
        f"+{result['provider_modules_loaded']} modules; ratio {result['ratio']:.3f} "
        f"(same process: {in_process:.3f}); medians of {args.runs} fresh processes each"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
