"""`r1ci sandbox ...`: run code in the sandbox, show its isolation layers, benchmark it, serve it."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Run Python in the sandbox, inspect its isolation layers, benchmark it, serve it over HTTP.",
    no_args_is_help=True,
)
err = Console(stderr=True)


def _loud_warnings() -> None:
    """Make the sandbox's one-time layer warnings visible on the terminal."""
    logger = logging.getLogger("r1ci.sandbox")
    if not logger.handlers and not logging.getLogger().handlers:
        from rich.logging import RichHandler

        logger.addHandler(RichHandler(console=err, show_time=False, show_path=False))
        logger.setLevel(logging.WARNING)


@app.command()
def run(
    code: str | None = typer.Option(None, "--code", "-c", help="Python source to run"),
    file: Path | None = typer.Option(None, "--file", "-f", help="file with the Python source to run"),
    timeout: float = typer.Option(10.0, "--timeout", help="wall-clock limit in seconds"),
    memory_mb: int = typer.Option(1024, "--memory-mb", help="address space the code may add, in MiB"),
    max_output_bytes: int = typer.Option(65536, "--max-output-bytes", help="bytes kept per stream"),
    executor: str = typer.Option("local", "--executor", help="local | http://HOST:PORT | sandboxfusion:URL"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object with the whole result"),
) -> None:
    """Run one snippet and print its output (exit status 0 only if the snippet succeeded)."""
    from r1ci.sandbox import get_executor

    if (code is None) == (file is None):
        raise typer.BadParameter("give exactly one of --code CODE or --file FILE")
    if file is not None:
        if not file.is_file():
            raise typer.BadParameter(f"{file} is not a readable file")
        code = file.read_text()
    assert code is not None
    _loud_warnings()
    with get_executor(executor) as ex:
        result = ex.run(code, timeout_s=timeout, memory_mb=memory_mb, max_output_bytes=max_output_bytes)
    if as_json:
        print(json.dumps(result.to_dict()))
    else:
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        if not result.ok:
            err.print(
                f"[bold red]status: {result.status}[/] (exit code {result.exit_code}, {result.duration_s:.3f}s)"
            )
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def info(
    executor: str = typer.Option("local", "--executor", help="local | http://HOST:PORT | sandboxfusion:URL"),
    as_json: bool = typer.Option(False, "--json", help="print the raw info as JSON"),
) -> None:
    """Show which isolation layers are active (and why any is off)."""
    from r1ci.sandbox import get_executor
    from r1ci.sandbox.isolation import LAYER_HELP

    _loud_warnings()
    with get_executor(executor) as ex:
        data = ex.info()
    if as_json:
        print(json.dumps(data, default=str))
        return
    console = Console()
    layers = data.get("layers", {})
    missing = data.get("missing", {})
    table = Table(title=f"r1ci sandbox: {data.get('backend')}")
    table.add_column("layer")
    table.add_column("active")
    table.add_column("what it guarantees / why it is off")
    for name, active in layers.items():
        mark = "[green]yes[/]" if active else "[bold red]NO[/]"
        table.add_row(name, mark, missing.get(name) or LAYER_HELP.get(name, ""))
    console.print(table)
    for key in ("workers", "python", "euid", "server_pid", "uid_range", "cgroup_version", "cgroup_dirs"):
        if data.get(key) not in (None, []):
            console.print(f"{key}: {data[key]}")
    if data.get("preloaded"):
        console.print(f"preloaded: {', '.join(data['preloaded'])}")
    for warning in data.get("warnings", []):
        err.print(f"[yellow]warning:[/] {warning}")


@app.command()
def bench(
    n: int = typer.Option(200, "--n", help="snippets per backend (cycling print, numpy, sympy, 0.1 s loop)"),
    workers: int | None = typer.Option(
        None, "--workers", help="concurrency for both backends (default: CPUs)"
    ),
    no_subprocess: bool = typer.Option(False, "--no-subprocess", help="skip the fresh-subprocess baseline"),
    leak_check: int = typer.Option(0, "--leak-check", help="also run N executions and check for leaks"),
    json_out: Path | None = typer.Option(None, "--json", help="also write the report as JSON here"),
) -> None:
    """Fork-server pool vs fresh `python -c` subprocesses on the same mixed snippets."""
    from r1ci.sandbox import bench as b

    if n < 1:
        raise typer.BadParameter("--n must be at least 1")
    _loud_warnings()
    report = b.run_benchmark(n=n, workers=workers, subprocess_baseline=not no_subprocess)
    b.print_report(report)
    data = report.to_dict()
    if leak_check:
        leaks = b.leak_check(leak_check, workers=workers)
        data["leak_check"] = {**leaks.__dict__, "clean": leaks.clean}
        colour = "green" if leaks.clean else "red"
        Console().print(f"[{colour}]leak check after {leaks.executions} executions: {data['leak_check']}[/]")
    if json_out is not None:
        json_out.write_text(json.dumps(data, indent=2))
    if leak_check and not data["leak_check"]["clean"]:
        raise typer.Exit(1)


@app.command()
def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="interface to bind (0.0.0.0 for all; needs a token)"
    ),
    port: int = typer.Option(8080, "--port"),
    workers: int | None = typer.Option(None, "--workers", help="concurrent executions (default: CPUs)"),
    token: list[str] | None = typer.Option(
        None, "--token", help="bearer token clients must send (repeatable; default: $R1CI_SANDBOX_TOKEN)"
    ),
    allow_host: list[str] | None = typer.Option(
        None, "--allow-host", help="Host header accepted besides loopback and the bound address ('*' = any)"
    ),
    max_queue: int | None = typer.Option(
        None, "--max-queue", help="requests waiting for a worker (429 beyond)"
    ),
    max_run_timeout: float | None = typer.Option(None, "--max-run-timeout", help="cap on run_timeout (s)"),
    max_memory_mb: int | None = typer.Option(None, "--max-memory-mb", help="cap on memory_limit_MB"),
    max_output_bytes: int | None = typer.Option(None, "--max-output-bytes", help="cap on max_output_bytes"),
    max_body_bytes: int | None = typer.Option(
        None, "--max-body-bytes", help="request body limit (413 beyond)"
    ),
    override: list[str] | None = typer.Option(
        None,
        "--override",
        "-o",
        help="any ServiceConfig field, e.g. -o header_timeout_s=5 -o max_sessions=128",
    ),
) -> None:
    """Serve the sandbox over HTTP with SandboxFusion's POST /run_code API (token, caps, bounded queue)."""
    from r1ci.cli.common import fail
    from r1ci.config import build_config
    from r1ci.sandbox.service import serve as run_service
    from r1ci.sandbox.service_limits import ServiceConfig

    flags = {
        "tokens": token or None,
        "allowed_hosts": allow_host or None,
        "max_queue": max_queue,
        "max_run_timeout_s": max_run_timeout,
        "max_memory_mb": max_memory_mb,
        "max_output_bytes": max_output_bytes,
        "max_body_bytes": max_body_bytes,
    }
    _loud_warnings()
    try:
        config = build_config(ServiceConfig, {}, override, flags, source="r1ci sandbox serve")
        run_service(host=host, port=port, workers=workers, config=config)
    except ValueError as exc:  # ConfigError, or a refused bind: one line naming the fix
        fail(exc)
