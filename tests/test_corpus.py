"""`tasrih classify-corpus` on a real Ray: a local one, and a two-node cluster on 127.0.0.1 that loses a
node mid-run. The articles are whole articles of data/test.jsonl, the model is the shipped one."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import read_jsonl

pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parent.parent
RAY = Path(sys.executable).parent / "ray"
CLI = [sys.executable, "-m", "train.cli"]


def tasrih(*args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def articles(n: int) -> list[dict]:
    """The first n whole articles of the test split, their sentences joined as the article's paragraphs."""
    docs = defaultdict(list)
    for r in read_jsonl(ROOT / "data" / "test.jsonl"):
        docs[r["doc"]].append(r["text"])
    return [{"id": doc, "text": "\n\n".join(sents), "source": "test-split", "n": i}
            for i, (doc, sents) in enumerate(list(docs.items())[:n])]


def write_input(path: Path, arts: list[dict], bad: bool = False) -> Path:
    with open(path, "wb") as f:
        for a in arts:
            f.write((json.dumps(a, ensure_ascii=False) + "\n").encode())
        if bad:  # one of each kind of bad article
            f.write(b'{"id": "empty", "text": "  "}\n{"id": "no-text", "title": "x"}\nnot json\n\xff\xfe\n')
    return path


def shard_rows(out: Path) -> list[dict]:
    import pyarrow.parquet as pq

    rows = []
    for f in sorted(out.iterdir()):
        if f.suffix == ".jsonl" and f.name != "rejects.jsonl":
            rows += read_jsonl(f)
        elif f.suffix == ".parquet":
            rows += pq.read_table(f).to_pylist()
    return rows


def classify_rows(path: Path, tmp: Path) -> list[dict]:
    r = tasrih("classify", str(path), "--skip-bad", "-o", str(tmp / "classify.jsonl"))
    assert r.returncode == 0, r.stderr
    return read_jsonl(tmp / "classify.jsonl")


def same_rows(corpus: list[dict], single: list[dict]) -> None:
    """Every row of `tasrih classify`, field for field, exactly once, whatever the order."""
    key = lambda r: (r["doc"], r["sentence_index"])  # noqa: E731
    assert len(corpus) == len(single)
    by_key = {key(r): r for r in corpus}
    assert len(by_key) == len(corpus), "a sentence appears twice"
    for r in single:
        got = by_key[key(r)]
        assert {k: got[k] for k in r} == r
        assert got["source"] == "test-split"  # the article's other fields are kept


@pytest.fixture(scope="module")
def corpus_input(tmp_path_factory) -> tuple[Path, list[dict]]:
    tmp = tmp_path_factory.mktemp("corpus")
    arts = articles(8)
    # `tasrih classify` refuses a file with non-UTF-8 bytes as a whole: it reads the good articles only.
    return write_input(tmp / "articles.jsonl", arts, bad=True), classify_rows(write_input(tmp / "good.jsonl", arts), tmp)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_corpus_equals_classify_and_rejects_bad_articles(corpus_input, tmp_path, fmt):
    path, single = corpus_input
    out = tmp_path / "out"
    r = tasrih("classify-corpus", str(path), "--out", str(out), "--format", fmt, "--block-size", "3",
               "--actors", "2")
    assert r.returncode == 0, r.stderr
    same_rows(shard_rows(out), single)
    rejects = read_jsonl(out / "rejects.jsonl")
    assert [(x["line"], x["reason"]) for x in rejects] == [
        (9, '"text" is empty'), (10, 'no "text" field'), (11, "not JSON (Expecting value)"),
        (12, "not UTF-8 (byte 0xff at offset 0)")]
    summary = json.loads((out / "_SUMMARY.json").read_text())
    assert (summary["articles"], summary["sentences"], summary["rejects"]) == (8, len(single), 4)
    assert summary["blocks"] == 4 and summary["blocks_skipped"] == 0


def test_rerun_redoes_only_missing_shards(corpus_input, tmp_path):
    path, single = corpus_input
    out = tmp_path / "out"
    assert tasrih("classify-corpus", str(path), "--out", str(out), "--block-size", "3").returncode == 0
    shards = sorted(out.glob("*.parquet"))
    shards[1].unlink()  # as if the job had been killed before this block was written
    before = {s: s.stat().st_mtime_ns for s in shards if s.exists()}
    r = tasrih("classify-corpus", str(path), "--out", str(out), "--block-size", "3")
    assert r.returncode == 0, r.stderr
    assert "1 blocks classified, 3 already done" in r.stderr
    assert {s: s.stat().st_mtime_ns for s in before} == before  # done shards were not rewritten
    same_rows(shard_rows(out), single)


def test_killed_job_finishes_on_rerun(tmp_path):
    path = write_input(tmp_path / "articles.jsonl", articles(16))
    out = tmp_path / "out"
    args = [*CLI, "classify-corpus", str(path), "--out", str(out), "--block-size", "1", "--format", "jsonl"]
    job = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: len(list(out.glob("*.jsonl"))) >= 2, job, "two shards")
    finally:
        os.killpg(job.pid, signal.SIGKILL)  # the driver and the local Ray it started
        job.wait()
    done = len(list(out.glob("*.jsonl")))
    assert 2 <= done < 16, "the kill must come mid-run"
    r = tasrih("classify-corpus", str(path), "--out", str(out), "--block-size", "1", "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    same_rows(shard_rows(out), classify_rows(path, tmp_path))


def wait_for(cond, proc, what: str, timeout: float = 300) -> None:
    end = time.time() + timeout
    while not cond():
        if proc.poll() is not None:
            raise AssertionError(f"the job ended (exit {proc.returncode}) before {what}")
        if time.time() > end:
            raise AssertionError(f"no {what} after {timeout} s")
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def active_nodes(address: str, env: dict) -> int:
    r = subprocess.run([str(RAY), "status", "--address", address], capture_output=True, text=True, env=env, timeout=60)
    active = r.stdout.split("Active:", 1)[-1].split("Pending:", 1)[0] if "Active:" in r.stdout else ""
    return sum(1 for line in active.splitlines() if "node_" in line)


def session_pids(sid: int) -> list[int]:
    """The processes of session ``sid``: a node started in its own session, with every worker process of its
    raylet (each Ray worker has a process group of its own, but stays in the session)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[3]) == sid:
                pids.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return pids


def session_commands(sid: int) -> list[str]:
    cmds = []
    for pid in session_pids(sid):
        try:
            cmds.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return cmds


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the worker node's actor")
def test_worker_killed_mid_run_loses_and_duplicates_nothing(tmp_path):
    path = write_input(tmp_path / "articles.jsonl", articles(16))
    expected = classify_rows(path, tmp_path)
    out = tmp_path / "out"
    # Two nodes on this machine. Ray gives a node the machine's address even when asked for 127.0.0.1 (it
    # resolves loopback to it), so the test reads the address the head reports. A throwaway cluster that
    # never leaves this machine runs without Ray's token authentication.
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    head = [str(RAY), "start", "--head", "--port", str(free_port()), "--num-cpus", "2", "--include-dashboard", "false",
            "--disable-usage-stats"]
    started = subprocess.run(head, capture_output=True, text=True, timeout=180, env=env)
    assert started.returncode == 0, started.stderr
    address = re.search(r"--address='([^']+)'", started.stdout + started.stderr).group(1)
    worker = job = None
    try:
        # The second node in a session of its own, so that kill -9 reaches its raylet and every worker on it.
        worker = subprocess.Popen([str(RAY), "start", "--address", address, "--num-cpus", "2", "--block",
                                   "--disable-usage-stats"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        # The job starts once the second node has joined, or Ray would place both actors on the head.
        wait_for(lambda: active_nodes(address, env) == 2, worker, "the second node in the cluster", timeout=120)
        job = subprocess.Popen([*CLI, "classify-corpus", str(path), "--out", str(out), "--ray", address, "--actors", "2",
                                "--block-size", "1", "--format", "jsonl"], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=env)
        # Wait until the worker node runs one of the model actors and some blocks are done: then kill it.
        wait_for(lambda: any("MapWorker" in c for c in session_commands(worker.pid))
                 and len(list(out.glob("*.jsonl"))) >= 2, job, "an actor on the worker node")
        for pid in session_pids(worker.pid):  # kill -9 the node: its raylet and every Ray worker process it started
            os.kill(pid, signal.SIGKILL)
        worker.wait()
        assert len(list(out.glob("*.jsonl"))) < 16, "the kill must come mid-run"
        _, err = job.communicate(timeout=600)
        assert job.returncode == 0, err
    finally:
        for p in (job, worker):
            if p and p.poll() is None:
                p.kill()
        subprocess.run([str(RAY), "stop", "--force"], capture_output=True, timeout=120, env=env)
    same_rows(shard_rows(out), expected)
