"""``codeocean-emulator``: run the emulator from a shell until SIGTERM or SIGINT.

The base URL is printed on stdout (and flushed) once the port is bound, so a parent process can read
one line and start talking to it; everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from airflow_provider_codeocean.testing.backend.capsules import CapsuleConfigError
from airflow_provider_codeocean.testing.config import BUILTIN_CAPSULES_DIR
from airflow_provider_codeocean.testing.emulator import CodeOceanEmulator
from airflow_provider_codeocean.testing.http.faults import FaultSpecError, parse_spec


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codeocean-emulator", description="Serve a local emulation of the Code Ocean REST API."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--token", default="cop_emulator_token", help="access token clients must send")
    parser.add_argument(
        "--capsules",
        type=Path,
        default=None,
        help="folder of capsule/pipeline folders (default: the built-in examples)",
    )
    parser.add_argument("--state-dir", type=Path, default=None, help="where runs and data asset files go")
    parser.add_argument("--data-assets", type=Path, default=None, help="folder of folders to serve as data assets")
    parser.add_argument("--buckets", type=Path, default=None, help="folder of folders standing in for S3/GCS buckets")
    parser.add_argument("--faults", default=None, help="fault spec, e.g. '503 times=2; latency:0.1 p=0.5'")
    parser.add_argument("--seed", type=int, default=None, help="seed for fault probabilities and ids")
    parser.add_argument(
        "--asset-ready-delay", type=float, default=0.5, help="seconds a new data asset stays draft (0.5)"
    )
    parser.add_argument("--custom-metadata", type=Path, default=None, help="JSON file with the custom metadata schema")
    parser.add_argument("--max-parallel-runs", type=int, default=8, help="real runs executing at once (8)")
    parser.add_argument("--release-delay", type=float, default=1.0, help="seconds a release job takes (1.0)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.faults:
            parse_spec(args.faults)
        custom_metadata = None
        if args.custom_metadata is not None:
            custom_metadata = json.loads(args.custom_metadata.read_text())
        emulator = CodeOceanEmulator(
            args.capsules if args.capsules is not None else BUILTIN_CAPSULES_DIR,
            args.token,
            state_dir=args.state_dir,
            data_assets_dir=args.data_assets,
            buckets_dir=args.buckets,
            host=args.host,
            port=args.port,
            seed=args.seed,
            faults=args.faults,
            asset_ready_delay=args.asset_ready_delay,
            custom_metadata=custom_metadata,
            max_parallel_runs=args.max_parallel_runs,
            release_delay=args.release_delay,
        )
    except (FaultSpecError, OSError, ValueError) as exc:
        print(f"codeocean-emulator: {exc}", file=sys.stderr)
        return 2

    def on_ready(url: str) -> None:
        print(url, flush=True)
        # Never the token: terminal output ends up in CI logs.
        print(f"codeocean-emulator: serving {url}; stop with Ctrl-C", file=sys.stderr)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, emulator.request_stop)
        await emulator.serve(on_ready)

    try:
        asyncio.run(run())
    except (CapsuleConfigError, OSError, ValueError) as exc:
        print(f"codeocean-emulator: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
