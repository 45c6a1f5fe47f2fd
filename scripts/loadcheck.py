"""Load check for the regkb HTTP API: N concurrent clients for a bounded time. A script, not a test.

    python scripts/loadcheck.py [--url http://127.0.0.1:8000] [--clients 16] [--seconds 60]
                                [--endpoint ask|chat|search|mix] [--questions scripts/bench_questions.txt]
                                [--start-server] [--workers 1] [--port 8000]

What it measures: each of N clients (its own httpx.AsyncClient, one keep-alive connection) sends requests
back-to-back, the next as soon as the previous answer is fully read, until the deadline; requests still in
flight at the deadline are completed and counted. Questions are cycled from the questions file, each client
starting at a different offset. `mix` sends, round-robin, `POST /v1/ask`, `GET /v1/search`, `POST /v1/chat`
and `POST /v1/chat` with `stream: true` (the whole Server-Sent-Events stream is read; it must end with
`event: done`). Every client first sends 2 warm-up requests, which are not counted.

Printed: requests completed, errors (a non-2xx status, a transport error or timeout, or a malformed body),
throughput (successful requests per second of wall time, from the start of the timed phase until the last
client finished), and latency p50 / p95 / max over every successful request (no sampling). Exit status 1 if
any request failed, 2 if the load could not be run (no ready server, bad options), else 0.

The figures are from one run on one machine, with the clients and the server sharing its CPUs over loopback;
on a shared machine they vary from run to run. Quote them with the exact command and the machine line printed.
`--start-server` runs `regkb serve` on 127.0.0.1:PORT for the duration; its log goes to a temporary file,
kept (and named) when a request failed or the server stopped by itself, else deleted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NoReturn

import httpx

REPO = Path(__file__).resolve().parents[1]
ANSWER_STATUSES = frozenset({"answered", "no_evidence"})
ENDPOINTS = ("ask", "search", "chat", "chat-stream")  # `mix` cycles through these, in this order
WARMUP_REQUESTS = 2  # per client, not counted
READY_TIMEOUT_S = 180.0
SHOWN_ERRORS = 5
TRANSPORT_PAUSE_S = 0.1  # after a transport error, before that client's next request


class CheckError(Exception):
    """A failed request: `kind` is one of status, timeout, transport, body."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Outcome:
    endpoint: str
    latency_ms: float
    error: CheckError | None = None


@dataclass
class Results:
    outcomes: list[Outcome] = field(default_factory=list)
    elapsed_s: float = 0.0


Call = Callable[[httpx.AsyncClient, str], Awaitable[None]]


# --- the requests ---------------------------------------------------------------------------------------------


def _checked_json(response: httpx.Response) -> Any:
    if not response.is_success:
        raise CheckError(
            "status", f"HTTP {response.status_code} from {response.request.url.path}: {response.text[:200]}"
        )
    try:
        return response.json()
    except ValueError as exc:
        raise CheckError("body", f"not JSON from {response.request.url.path}: {response.text[:200]!r}") from exc


def _check_answer(body: Any, path: str) -> None:
    status = body.get("status") if isinstance(body, dict) else None
    if status not in ANSWER_STATUSES:
        raise CheckError("body", f"{path}: status {status!r}, expected one of {sorted(ANSWER_STATUSES)}")


async def call_ask(client: httpx.AsyncClient, question: str) -> None:
    _check_answer(_checked_json(await client.post("/v1/ask", json={"question": question})), "/v1/ask")


async def call_search(client: httpx.AsyncClient, question: str) -> None:
    body = _checked_json(await client.get("/v1/search", params={"q": question}))
    if not isinstance(body, dict) or not isinstance(body.get("passages"), list):
        raise CheckError("body", f"/v1/search: no 'passages' list in {str(body)[:200]}")


async def call_chat(client: httpx.AsyncClient, question: str) -> None:
    _check_answer(_checked_json(await client.post("/v1/chat", json={"message": question})), "/v1/chat")


def sse_events(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs of a Server-Sent-Events body; comment lines (pings) are skipped."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].removeprefix(" "))
        if data or name != "message":
            events.append((name, "\n".join(data)))
    return events


async def call_chat_stream(client: httpx.AsyncClient, question: str) -> None:
    async with client.stream("POST", "/v1/chat", json={"message": question, "stream": True}) as response:
        text = (await response.aread()).decode("utf-8", errors="replace")
    if not response.is_success:
        raise CheckError("status", f"HTTP {response.status_code} from /v1/chat (stream): {text[:200]}")
    events = sse_events(text)
    if not events or events[-1][0] != "done":
        last = events[-1][0] if events else "nothing"
        raise CheckError("body", f"/v1/chat (stream): ended with {last!r} after {len(events)} events, not 'done'")
    try:
        done = json.loads(events[-1][1])
    except ValueError as exc:
        raise CheckError("body", f"/v1/chat (stream): 'done' data is not JSON: {events[-1][1][:200]!r}") from exc
    _check_answer(done, "/v1/chat (stream) done event")


CALLS: dict[str, Call] = {
    "ask": call_ask,
    "search": call_search,
    "chat": call_chat,
    "chat-stream": call_chat_stream,
}


async def timed(client: httpx.AsyncClient, endpoint: str, question: str) -> Outcome:
    """One request; a failure of any kind becomes the outcome's error, never an exception."""
    began = time.perf_counter()
    error: CheckError | None = None
    try:
        await CALLS[endpoint](client, question)
    except CheckError as exc:
        error = exc
    except httpx.TimeoutException as exc:
        error = CheckError("timeout", f"{endpoint}: {type(exc).__name__} {exc}".strip())
    except httpx.HTTPError as exc:
        error = CheckError("transport", f"{endpoint}: {type(exc).__name__} {exc}".strip())
    return Outcome(endpoint, (time.perf_counter() - began) * 1000, error)


# --- the clients ----------------------------------------------------------------------------------------------


def schedule(endpoint: str, questions: list[str], client_no: int, clients: int) -> Callable[[int], tuple[str, str]]:
    """The n-th (endpoint, question) of one client; clients start at different questions (and endpoints)."""
    offset = client_no * max(1, len(questions) // clients)
    kinds = ENDPOINTS if endpoint == "mix" else (endpoint,)

    def nth(n: int) -> tuple[str, str]:
        return kinds[(client_no + n) % len(kinds)], questions[(offset + n) % len(questions)]

    return nth


@dataclass
class Phase:
    """Shared by the clients: all warm-ups finish before the timed phase starts, at the same moment for all."""

    clients: int
    warmed: int = 0
    all_warm: asyncio.Event = field(default_factory=asyncio.Event)
    start: asyncio.Event = field(default_factory=asyncio.Event)
    deadline: float = 0.0

    def client_warm(self) -> None:
        self.warmed += 1
        if self.warmed == self.clients:
            self.all_warm.set()


async def client_loop(
    url: str, timeout: float, nth: Callable[[int], tuple[str, str]], phase: Phase
) -> tuple[list[Outcome], list[Outcome]]:
    """Warm-up requests, then wait for the common start, then requests back-to-back until the deadline."""
    async with httpx.AsyncClient(base_url=url, timeout=timeout, trust_env=False) as client:
        warmup = [await timed(client, *nth(n)) for n in range(WARMUP_REQUESTS)]
        phase.client_warm()
        await phase.start.wait()
        outcomes, n = [], WARMUP_REQUESTS
        while time.perf_counter() < phase.deadline:
            outcome = await timed(client, *nth(n))
            outcomes.append(outcome)
            n += 1
            if outcome.error and outcome.error.kind == "transport":
                await asyncio.sleep(TRANSPORT_PAUSE_S)  # a refused connection fails at once: no busy loop
    return warmup, outcomes


async def run_load(args: argparse.Namespace, url: str, questions: list[str]) -> tuple[Results, list[Outcome]]:
    """The timed results and, apart, the warm-up outcomes."""
    phase = Phase(args.clients)
    loops = [
        asyncio.create_task(client_loop(url, args.timeout, schedule(args.endpoint, questions, i, args.clients), phase))
        for i in range(args.clients)
    ]
    waiting = asyncio.create_task(phase.all_warm.wait())
    await asyncio.wait([waiting, *loops], return_when=asyncio.FIRST_COMPLETED)  # a loop ends early only on a bug
    began = time.perf_counter()
    phase.deadline = began + args.seconds
    phase.start.set()
    done = await asyncio.gather(*loops)
    waiting.cancel()
    results = Results([o for _, outcomes in done for o in outcomes], time.perf_counter() - began)
    return results, [o for warmup, _ in done for o in warmup]


# --- the report -----------------------------------------------------------------------------------------------


def latency_figures(latencies_ms: list[float]) -> tuple[float, float, float]:
    """p50, p95 and max over all the latencies given (percentiles inclusive of the extremes)."""
    if len(latencies_ms) < 2:
        only = latencies_ms[0] if latencies_ms else float("nan")
        return only, only, only
    cuts = statistics.quantiles(latencies_ms, n=100, method="inclusive")
    return cuts[49], cuts[94], max(latencies_ms)


def summary(outcomes: list[Outcome], elapsed_s: float) -> str:
    ok = [o.latency_ms for o in outcomes if o.error is None]
    p50, p95, top = latency_figures(ok)
    return (
        f"requests {len(outcomes)} · errors {len(outcomes) - len(ok)} · throughput {len(ok) / elapsed_s:.1f} req/s"
        f" · latency p50 {p50:.0f} ms · p95 {p95:.0f} ms · max {top:.0f} ms"
    )


def error_lines(outcomes: list[Outcome], label: str) -> list[str]:
    errors = [o.error for o in outcomes if o.error is not None]
    if not errors:
        return []
    kinds = Counter(e.kind for e in errors)
    lines = [f"{label} by kind: " + ", ".join(f"{kind} {n}" for kind, n in kinds.most_common())]
    lines += [f"  {e}" for e in errors[:SHOWN_ERRORS]]
    if len(errors) > SHOWN_ERRORS:
        lines.append(f"  ... and {len(errors) - SHOWN_ERRORS} more")
    return lines


def machine_line(load_before: tuple[float, float, float]) -> str:
    load = " ".join(f"{x:.2f}" for x in load_before)
    return (
        f"machine: {os.cpu_count()} CPUs (os.cpu_count()), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; load average {load} before the run; clients and server on this machine"
    )


def report(
    args: argparse.Namespace, url: str, results: Results, warmup: list[Outcome], load: tuple[float, float, float]
) -> list[str]:
    server = f"{args.workers} worker{'s' if args.workers > 1 else ''}" if args.start_server else "external server"
    lines = [
        f"load check: {args.clients} clients, {args.seconds:g} s, endpoint {args.endpoint}, {url} ({server})",
        summary(results.outcomes, results.elapsed_s),
    ]
    if args.endpoint == "mix":
        for endpoint in ENDPOINTS:
            mine = [o for o in results.outcomes if o.endpoint == endpoint]
            lines.append(f"  {endpoint:<12} {summary(mine, results.elapsed_s)}")
    lines.append(
        f"timed phase {results.elapsed_s:.1f} s (requests in flight at the deadline completed); "
        f"{len(warmup)} warm-up requests not counted"
    )
    lines += error_lines(results.outcomes, "errors")
    lines += error_lines(warmup, "warm-up errors (not counted)")
    lines.append(machine_line(load))
    return lines


# --- the server -----------------------------------------------------------------------------------------------


def fail(message: str) -> NoReturn:
    """Stop with status 2: the load could not be run (no server, a bad option, no questions)."""
    print(f"loadcheck: {message}", file=sys.stderr)
    raise SystemExit(2)


def readiness(url: str) -> str | None:
    """None if GET /readyz answers 200, else why not."""
    try:
        response = httpx.get(f"{url}/readyz", timeout=5.0, trust_env=False)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if response.status_code == 200 else f"HTTP {response.status_code}: {response.text[:300]}"


def port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_server(port: int, workers: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    regkb = shutil.which("regkb")
    if regkb is None:
        fail("`regkb` is not on PATH; install the project (pip install -e .) or leave out --start-server")
    command = [regkb, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    # Its own session: a Ctrl-C in the terminal reaches only this script, which then stops the server.
    # A local check on loopback: the server it starts runs without API keys (REGKB_ACCESS__AUTH_DISABLED).
    env = {**os.environ, "REGKB_ACCESS__AUTH_DISABLED": "true"}
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)


def log_tail(path: str, lines: int = 20) -> str:
    text = Path(path).read_text(errors="replace").splitlines()
    return "\n".join(f"  | {line}" for line in text[-lines:])


def wait_ready(url: str, server: subprocess.Popen[bytes], log_path: str) -> None:
    began, why = time.monotonic(), "not tried yet"
    while time.monotonic() - began < READY_TIMEOUT_S:
        if server.poll() is not None:
            fail(f"`regkb serve` exited with status {server.returncode}; its log:\n{log_tail(log_path)}")
        why = readiness(url) or ""
        if not why:
            print(f"server ready after {time.monotonic() - began:.1f} s (log: {log_path})", flush=True)
            return
        time.sleep(0.5)
    fail(
        f"{url}/readyz did not answer 200 within {READY_TIMEOUT_S:.0f} s (last: {why}); "
        f"the server's log:\n{log_tail(log_path)}"
    )


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn stops its workers), then SIGKILL to the server's own process group if it lingers."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# --- main -----------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", help="Server to load (default http://127.0.0.1:PORT); not with --start-server.")
    parser.add_argument("--clients", type=int, default=16, help="Concurrent clients (default 16).")
    parser.add_argument("--seconds", type=float, default=60.0, help="Length of the timed phase (default 60).")
    parser.add_argument("--endpoint", choices=("ask", "chat", "search", "mix"), default="ask")
    parser.add_argument("--questions", type=Path, default=REPO / "scripts" / "bench_questions.txt")
    parser.add_argument("--start-server", action="store_true", help="Run `regkb serve` on 127.0.0.1:PORT meanwhile.")
    parser.add_argument("--workers", type=int, default=1, help="Worker processes of the started server (default 1).")
    parser.add_argument("--port", type=int, default=8000, help="Port of the server (default 8000).")
    parser.add_argument("--timeout", type=float, default=120.0, help="Per-request timeout in seconds (default 120).")
    args = parser.parse_args()
    if args.start_server and args.url:
        parser.error("--url is for a server already running; with --start-server give --port")
    if args.clients < 1 or args.seconds <= 0 or args.workers < 1:
        parser.error("--clients and --workers must be at least 1, --seconds positive")
    return args


def load_questions(path: Path) -> list[str]:
    try:
        questions = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        fail(f"cannot read the questions: {exc}")
    if not questions:
        fail(f"no questions in {path}")
    return questions


def _terminated(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `finally` that stops a started server


def main() -> int:
    args = parse_args()
    questions = load_questions(args.questions)
    url = (args.url or f"http://127.0.0.1:{args.port}").rstrip("/")
    signal.signal(signal.SIGTERM, _terminated)
    server: subprocess.Popen[bytes] | None = None
    log_path, server_exit = "", None
    try:
        if args.start_server:
            if port_taken(args.port):
                fail(f"something already listens on 127.0.0.1:{args.port}; pick another --port")
            with tempfile.NamedTemporaryFile(prefix="regkb-loadcheck-", suffix=".log", delete=False) as log:
                log_path = log.name
                server = start_server(args.port, args.workers, log)
            wait_ready(url, server, log_path)
        elif why := readiness(url):
            fail(f"no ready server at {url} ({why}); start one (regkb serve) or pass --start-server")
        load = os.getloadavg()
        results, warmup = asyncio.run(run_load(args, url, questions))
        server_exit = server.poll() if server is not None else None
    except KeyboardInterrupt:
        print("loadcheck: interrupted", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            stop_server(server)
    lines = report(args, url, results, warmup, load)
    failed = any(o.error for o in results.outcomes)
    if server_exit is not None:
        lines.append(f"the server stopped by itself during the run, with status {server_exit}")
    if log_path and (failed or server_exit is not None):
        lines.append(f"server log (kept): {log_path}")
    elif log_path:
        Path(log_path).unlink(missing_ok=True)
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
