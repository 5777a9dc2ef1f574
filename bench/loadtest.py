"""Load test `tasrih serve` on loopback: N concurrent clients for T seconds, posting real sentences.

    python bench/loadtest.py                          # the shipped model, 16 clients, 60 s
    python bench/loadtest.py --model DIR --seconds 5  # a quick check first

Starts `tasrih serve` on a free loopback port as a subprocess, waits for GET /ready, warms up, runs the
clients for --seconds, then stops the server whatever happened. Prints the figures and writes them to
bench/results/loadtest.json: requests/s, sentences/s, latency percentiles, errors, the server's
micro-batching statistics, the machine's CPU count and the exact commands.

Sentences come from data/test.jsonl, or from seeds/*.txt (split into sentences) where that is absent.
Every answer is checked: a 200 whose rows are not the sentences sent counts as an error.
The clients run on the same machine as the server and take CPU from it: the figures are for the box.
"""

import argparse
import asyncio
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without `pip install -e .` too

from infer.text import split_sentences  # noqa: E402  (light: no torch)


def load_sentences() -> tuple[list[str], str]:
    test = REPO / "data" / "test.jsonl"
    if test.is_file():
        rows = [json.loads(line) for line in test.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [r["text"] for r in rows if r.get("text", "").strip()], str(test.relative_to(REPO))
    seeds = sorted((REPO / "seeds").glob("*.txt"))
    sentences = [p.text for f in seeds for p in split_sentences(f.read_text(encoding="utf-8"))]
    return sentences, "seeds/*.txt"


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: a reported p99 is a latency that really happened)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


class Server:
    """`tasrih serve` as a subprocess on a free port; always stopped on exit."""

    def __init__(self, args, log_path: Path):
        self.cmd = [sys.executable, "-m", "train.cli", "serve", "--host", "127.0.0.1", "--port", "0",
                    "--no-access-log", "--backend", args.backend]
        if args.model:
            self.cmd += ["--model", args.model]
        self.cmd += args.server_arg
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.url: str | None = None

    def log_tail(self, n: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def start(self, timeout: float) -> str:
        with open(self.log_path, "w") as log:
            # Its own process group, so that the server cannot outlive this script by accident.
            self.proc = subprocess.Popen(self.cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:  # `tasrih serve --port 0` prints the port it got before it loads the model
            text = self.log_path.read_text(errors="replace")
            if "listening on http://" in text:
                self.url = text.split("listening on ", 1)[1].split()[0]
                break
            self.check_alive(deadline)
            time.sleep(0.05)
        while True:
            try:
                if httpx.get(self.url + "/ready", timeout=5).status_code == 200:
                    return self.url
            except httpx.TransportError:
                pass
            self.check_alive(deadline)
            time.sleep(0.1)

    def check_alive(self, deadline: float) -> None:
        if self.proc.poll() is not None:
            raise SystemExit(f"loadtest: the server exited with status {self.proc.returncode}:\n{self.log_tail()}")
        if time.monotonic() > deadline:
            raise SystemExit(f"loadtest: the server was not ready in time:\n{self.log_tail()}")

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGINT)  # a graceful stop, as Ctrl-C
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(5)


async def run_clients(url: str, sentences: list[str], clients: int, per_request: int, seconds: float) -> dict:
    """`clients` loops posting `per_request` sentences each until `seconds` have passed."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    done = {"requests": 0, "sentences": 0}
    deadline = time.monotonic() + seconds

    async def client(i: int, http: httpx.AsyncClient) -> None:
        k = i * per_request  # each client walks the sentences from its own starting point
        while time.monotonic() < deadline:
            batch = [sentences[(k + j) % len(sentences)] for j in range(per_request)]
            k += per_request * clients
            t0 = time.perf_counter()
            try:
                r = await http.post("/v1/classify", json={"sentences": batch, "doc": f"client{i}"})
                kind = None
                if r.status_code != 200:
                    kind = f"HTTP {r.status_code}"
                elif [row["text"] for row in r.json()["results"]] != batch:
                    kind = "wrong rows"
            except httpx.HTTPError as e:
                kind = type(e).__name__
            latencies.append(time.perf_counter() - t0)
            if kind:
                errors[kind] = errors.get(kind, 0) + 1
            else:
                done["requests"] += 1
                done["sentences"] += len(batch)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(i, http) for i in range(clients)))
        elapsed = time.perf_counter() - t0  # includes the requests in flight at the deadline
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed, **done}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="Extra flags for `tasrih serve` go through --server-arg, e.g. "
                                        "--server-arg=--max-delay-ms=10")
    ap.add_argument("--model", help="model directory (default: the model that ships with tasrih)")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    ap.add_argument("--seconds", type=float, default=60, help="measured duration (default 60)")
    ap.add_argument("--per-request", type=int, default=4, help="sentences per request (default 4)")
    ap.add_argument("--warmup", type=float, default=3, help="seconds of unmeasured load first (default 3)")
    ap.add_argument("--startup-timeout", type=float, default=180, help="seconds to wait for /ready (default 180)")
    ap.add_argument("--server-arg", action="append", default=[], metavar="FLAG", help="passed to tasrih serve")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "loadtest.json"))
    args = ap.parse_args(argv)
    for name in ("clients", "per_request"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    if not 0 < args.seconds <= 3600:
        ap.error("--seconds must be between 0 and 3600")

    sentences, source = load_sentences()
    if not sentences:
        raise SystemExit("loadtest: no sentences found in data/test.jsonl or seeds/*.txt")
    load_at_start = os.getloadavg()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(args, Path(tmp) / "server.log")
        try:
            url = server.start(args.startup_timeout)
            info = httpx.get(url + "/v1/model").json()
            print(f"loadtest: {info['model']} ready at {url}; warming up {args.warmup:g} s, then {args.clients} "
                  f"clients for {args.seconds:g} s", file=sys.stderr)
            if args.warmup > 0:
                asyncio.run(run_clients(url, sentences, args.clients, args.per_request, args.warmup))
            before = httpx.get(url + "/v1/model").json()["stats"]
            run = asyncio.run(run_clients(url, sentences, args.clients, args.per_request, args.seconds))
            after = httpx.get(url + "/v1/model").json()["stats"]
        finally:
            status = server.stop()
            log_tail = server.log_tail(5) if server.log_path.exists() else ""
    if status not in (0, None):
        print(f"loadtest: the server stopped with status {status}:\n{log_tail}", file=sys.stderr)

    lat = sorted(x * 1000 for x in run["latencies"])
    passes = after["passes"] - before["passes"]
    n_errors = sum(run["errors"].values())
    result = {
        "requests_per_s": round(run["requests"] / run["elapsed"], 2),
        "sentences_per_s": round(run["sentences"] / run["elapsed"], 2),
        "latency_ms": {"p50": round(percentile(lat, 50), 1), "p90": round(percentile(lat, 90), 1),
                       "p99": round(percentile(lat, 99), 1), "max": round(lat[-1], 1) if lat else None,
                       "mean": round(sum(lat) / len(lat), 1) if lat else None},
        "errors": n_errors,
        "errors_by_kind": run["errors"],
        "requests": run["requests"],
        "sentences": run["sentences"],
        "elapsed_s": round(run["elapsed"], 2),
        "clients": args.clients,
        "seconds": args.seconds,
        "sentences_per_request": args.per_request,
        "warmup_s": args.warmup,
        "server": {"model": info["model"], "backend": info["backend"], "device": info["device"],
                   "version": info["version"], "batching": info["batching"], "limits": info["limits"],
                   "forward_passes": passes,
                   "sentences_per_pass": round((after["sentences"] - before["sentences"]) / passes, 2) if passes
                   else None,
                   "largest_pass_requests": after["largest_pass_requests"],
                   "exit_status": status},
        "data": {"source": source, "distinct_sentences": len(sentences)},
        "machine": {"cpu_count": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)),
                    "cpu_model": cpu_model(), "loadavg_at_start": [round(x, 2) for x in load_at_start],
                    "python": platform.python_version(), "torch": package("torch"),
                    "note": "clients and server share these CPUs"},
        "command": shlex.join([sys.executable, *sys.argv] if argv is None else [sys.executable, __file__, *argv]),
        "server_command": shlex.join(server.cmd),
        "started_at": started_at,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{result['requests_per_s']} requests/s, {result['sentences_per_s']} sentences/s, "
          f"p50 {result['latency_ms']['p50']} ms, p99 {result['latency_ms']['p99']} ms, {n_errors} errors "
          f"({run['requests']} requests in {result['elapsed_s']} s, {args.clients} clients, "
          f"{result['server']['sentences_per_pass']} sentences per forward pass, "
          f"{result['machine']['cpu_count']} CPUs)")
    print(f"wrote {out}")
    return 1 if n_errors else 0


if __name__ == "__main__":
    sys.exit(main())
