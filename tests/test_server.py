"""`tasrih serve` as a client meets it: the real app under the real uvicorn on a loopback port, real HTTP.

The model is the local tiny BERT wrapped as a tasrih model and saved with save_pretrained, so nothing
depends on the shipped default model. Its runner (the real one) is wrapped to count forward passes and,
where a test needs requests lined up deterministically, to hold a pass until the test lets it go.
"""

import asyncio
import importlib.metadata
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from transformers import AutoTokenizer

from infer.labels import LABELS
from infer.model import TasrihConfig, TasrihModel
from infer.predict import Tasrih
from infer.server import ROW_FIELDS, DocumentContext, ServeSettings, create_app
from tests.conftest import REPO, SEED_GOLD, SEED_TEXT, read_jsonl
from train.cli import main

ARTICLE = SEED_TEXT.read_text(encoding="utf-8")
SENTENCES = [r["text"] for r in read_jsonl(SEED_GOLD)]

# Small limits, so that every limit can be crossed with a small request.
SETTINGS = dict(max_batch_sentences=64, max_delay_ms=2, max_queued_sentences=60, max_sentences=30,
                max_sentence_chars=1500, max_body_bytes=40_000)


@pytest.fixture(scope="module")
def model_dir(tiny_bert, tmp_path_factory) -> Path:
    """The tiny local BERT with tasrih's heads, saved the way `tasrih train` saves a model."""
    config = TasrihConfig.from_pretrained(tiny_bert, id2label=dict(enumerate(LABELS)),
                                          label2id={v: k for k, v in enumerate(LABELS)})
    out = tmp_path_factory.mktemp("served") / "tiny-tasrih"
    TasrihModel.from_pretrained(tiny_bert, config=config).save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def reference(model_dir) -> Tasrih:
    """The same model loaded in the test process: what `tasrih classify` would answer."""
    return Tasrih.from_pretrained(model_dir)


class CountingRunner:
    """The model's real runner, counted; ``hold`` keeps the next passes waiting until ``release``."""

    def __init__(self, runner):
        self.runner = runner
        self.calls = 0
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        self.fail_next: Exception | None = None
        self.fail_rows_over: int | None = None  # fail every pass of more rows than this

    def hold(self):
        self.entered.clear()
        self.gate.clear()

    def release(self):
        self.gate.set()

    def __call__(self, ids, mask):
        self.calls += 1
        self.entered.set()
        assert self.gate.wait(30), "a test held the model and never released it"
        if self.fail_next is not None:
            e, self.fail_next = self.fail_next, None
            raise e
        if self.fail_rows_over is not None and ids.shape[0] > self.fail_rows_over:
            raise RuntimeError(f"a pass of {ids.shape[0]} rows is too big for this device (raised by the test)")
        return self.runner(ids, mask)


class LiveServer:
    """The app under uvicorn in a background thread, on a free loopback port it binds itself."""

    def __init__(self, settings: ServeSettings, loader=None):
        self.app = create_app(settings, loader=loader)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def state(self):
        return self.app.state.tasrih

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "uvicorn did not start"
            time.sleep(0.01)
        return self

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while httpx.get(self.url + "/ready").status_code != 200:
            assert time.monotonic() < deadline, "the model never became ready"
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(15)
        assert not self.thread.is_alive(), "uvicorn did not stop"
        self.sock.close()


@pytest.fixture(scope="module")
def live(model_dir):
    runner = {}

    def loader():
        model = Tasrih.from_pretrained(model_dir)
        model.runner = runner["r"] = CountingRunner(model.runner)
        return model

    with LiveServer(ServeSettings(model=str(model_dir), **SETTINGS), loader=loader) as srv:
        srv.wait_ready()
        srv.runner = runner["r"]
        yield srv
        srv.runner.release()


def wait_for(condition, what, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def assert_same_rows(got: list[dict], want: list[dict]):
    """Equal rows; scores to 1e-3, since a batch padded differently rounds the last digit differently."""
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert list(g) == list(w)
        assert {k: v for k, v in g.items() if k != "scores"} == {k: v for k, v in w.items() if k != "scores"}
        assert g["scores"] == {k: pytest.approx(v, abs=1e-3) for k, v in w["scores"].items()}


# --------------------------------------------------------------------------- status endpoints

def test_ready_answers_503_until_the_model_is_loaded(model_dir):
    gate = threading.Event()

    def slow_loader():  # the real loading, held back until the test has looked
        assert gate.wait(30)
        return Tasrih.from_pretrained(model_dir)

    with LiveServer(ServeSettings(model=str(model_dir)), loader=slow_loader) as srv:
        health = httpx.get(srv.url + "/health")
        assert (health.status_code, health.json()) == (200, {"status": "ok", "ready": False})
        r = httpx.get(srv.url + "/ready")
        assert (r.status_code, r.json()["status"], r.headers["retry-after"]) == (503, "loading", "1")
        for r in (httpx.get(srv.url + "/v1/model"), httpx.post(srv.url + "/v1/classify", json={"text": ARTICLE})):
            assert r.status_code == 503
            assert "still loading; retry when GET /ready answers 200" in r.json()["error"]
        gate.set()
        srv.wait_ready()
        assert httpx.get(srv.url + "/ready").json() == {"status": "ready", "model": "tiny-tasrih"}
        assert httpx.post(srv.url + "/v1/classify", json={"text": ARTICLE}).status_code == 200


def test_a_model_that_cannot_load_is_reported_not_hidden(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    with LiveServer(ServeSettings(model=str(broken))) as srv:  # the real loader, on an empty directory
        wait_for(lambda: srv.state.load_error is not None, "the load to fail")
        assert httpx.get(srv.url + "/health").status_code == 200
        r = httpx.get(srv.url + "/ready")
        assert r.status_code == 503 and r.json()["status"] == "failed"
        assert r.json()["error"] == (f"the model could not be loaded: {broken / 'config.json'}: missing; "
                                     f"a model directory needs config.json")
        assert httpx.post(srv.url + "/v1/classify", json={"text": ARTICLE}).status_code == 503


def test_model_endpoint_and_docs(live):
    info = httpx.get(live.url + "/v1/model").json()
    assert info["model"] == "tiny-tasrih"
    assert info["labels"] == list(LABELS)
    assert info["backend"] == "torch"
    assert info["version"] == importlib.metadata.version("tasrih")
    assert info["limits"] == {"max_body_bytes": 40_000, "max_sentences": 30, "max_sentence_chars": 1500}
    assert info["batching"]["max_batch_sentences"] == 64
    docs = httpx.get(live.url + "/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = httpx.get(live.url + "/openapi.json").json()
    body = spec["paths"]["/v1/classify"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"text", "texts", "sentences", "doc", "min_confidence"}
    assert {"/health", "/ready", "/v1/model"} <= set(spec["paths"])


# --------------------------------------------------------------------------- classify

def test_an_article_gets_the_rows_tasrih_classify_writes(live, reference):
    r = httpx.post(live.url + "/v1/classify", json={"text": ARTICLE, "doc": "seed"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["model"] == "tiny-tasrih"
    assert list(body["results"][0]) == list(ROW_FIELDS)
    assert_same_rows(body["results"], list(reference.classify_text(ARTICLE, doc="seed")))


def test_several_articles_keep_their_ids_and_their_own_actor_context(live, reference):
    texts = [ARTICLE, {"id": "short", "text": " ".join(SENTENCES[3:6])}, SENTENCES[7]]
    rows = httpx.post(live.url + "/v1/classify", json={"texts": texts}).json()["results"]
    want = [*reference.classify_text(ARTICLE, doc="0"), *reference.classify_text(texts[1]["text"], doc="short"),
            *reference.classify_text(SENTENCES[7], doc="2")]
    assert_same_rows(rows, want)
    for doc in ("0", "short", "2"):
        indexes = [r["sentence_index"] for r in rows if r["doc"] == doc]
        assert indexes == list(range(len(indexes))) and indexes


def test_sentences_are_classified_as_given_with_low_confidence_marked(live, reference):
    r = httpx.post(live.url + "/v1/classify", json={"sentences": SENTENCES[:4], "doc": "d", "min_confidence": 0.9})
    rows = r.json()["results"]
    assert [row["text"] for row in rows] == SENTENCES[:4]
    want = list(reference.classify_sentences(SENTENCES[:4], doc="d"))
    assert_same_rows([{k: v for k, v in row.items() if k != "low_confidence"} for row in rows], want)
    assert all(row["low_confidence"] is (row["scores"][row["label"]] < 0.9) for row in rows)
    # null means absent, as client libraries send unset optional fields
    r = httpx.post(live.url + "/v1/classify", json={"sentences": SENTENCES[:1], "text": None, "doc": None})
    assert r.status_code == 200 and r.json()["results"][0]["doc"] == "input"


def test_a_long_sentence_is_read_in_windows_not_truncated(live):
    sentence = "وقال الوزير إن المفاوضات مستمرة " * 40  # ~300 tokens: three windows of the model's 128
    row = httpx.post(live.url + "/v1/classify", json={"sentences": [sentence]}).json()["results"][0]
    assert row["text"] == sentence
    assert row["windows"] > 1


def test_actor_resolved_follows_the_document():
    def pred(label, actor=None):
        span = {"start": 0, "end": len(actor), "text": actor} if actor else None
        return {"text": "…", "label": label, "scores": {}, "also": [], "actor": span, "target": None, "windows": 1}

    a, b = DocumentContext("a"), DocumentContext("b")
    rows = [a.row(pred("accusation", "لافروف")), a.row(pred("none")), a.row(pred("denial")),
            b.row(pred("demand")), a.row(pred("agreement", "كيري")), a.row(pred("demand"))]
    assert [(r["doc"], r["sentence_index"], r["actor_resolved"]) for r in rows] == [
        ("a", 0, "لافروف"), ("a", 1, None), ("a", 2, "لافروف"), ("b", 0, None), ("a", 3, "كيري"), ("a", 4, "كيري")]


# --------------------------------------------------------------------------- concurrency

async def post_all(url: str, bodies: list[dict]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=len(bodies))) as c:
        return await asyncio.gather(*(c.post("/v1/classify", json=b) for b in bodies))


def test_concurrent_requests_share_passes_and_each_gets_its_own_rows(live, reference):
    s = SENTENCES
    bodies = [{"sentences": [s[i % len(s)], s[(i + 5) % len(s)]], "doc": f"req{i}"} for i in range(8)]
    bodies += [{"text": f"{s[i]} {s[i + 1]}", "doc": f"art{i}"} for i in range(2)]
    bodies += [{"texts": [s[2], {"id": "x", "text": s[9]}]}]
    first = {"sentences": [s[0]], "doc": "first"}
    stats = live.state.batcher.stats
    passes, calls, requests = stats.passes, live.runner.calls, stats.requests

    async def scenario():
        # Hold the model on a first request, let the others queue up behind it, then let go:
        # the others must then go through together, in one pass.
        live.runner.hold()
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as c:
            lead = asyncio.ensure_future(c.post("/v1/classify", json=first))
            await asyncio.to_thread(live.runner.entered.wait, 10)
            rest = asyncio.ensure_future(post_all(live.url, bodies))
            await asyncio.to_thread(wait_for, lambda: live.state.batcher.queued_requests == len(bodies), "the queue")
            live.runner.release()
            return await lead, await rest

    lead, responses = asyncio.run(scenario())
    assert lead.status_code == 200 and [r["doc"] for r in lead.json()["results"]] == ["first"]
    for body, r in zip(bodies, responses):
        assert r.status_code == 200
        if "sentences" in body:
            want = list(reference.classify_sentences(body["sentences"], doc=body["doc"]))
        elif "text" in body:
            want = list(reference.classify_text(body["text"], doc=body["doc"]))
        else:
            want = [*reference.classify_text(body["texts"][0], doc="0"),
                    *reference.classify_text(body["texts"][1]["text"], doc="x")]
        assert_same_rows(r.json()["results"], want)
    assert stats.requests - requests == 1 + len(bodies)
    assert stats.passes - passes == 2  # the first request alone, then the eleven others together
    assert live.runner.calls - calls == 2  # ... and each pass was one forward call of the model
    assert stats.largest_pass_requests >= len(bodies)


def test_unheld_concurrent_requests_all_get_their_own_rows(live):
    bodies = [{"sentences": SENTENCES[i % 12:i % 12 + 2], "doc": f"c{i}"} for i in range(24)]
    for body, r in zip(bodies, asyncio.run(post_all(live.url, bodies))):
        assert r.status_code == 200
        assert [(row["doc"], row["text"]) for row in r.json()["results"]] == [(body["doc"], t)
                                                                                for t in body["sentences"]]


def test_the_event_loop_answers_while_the_model_works(live):
    live.runner.hold()
    with httpx.Client(base_url=live.url, timeout=5) as c, \
            httpx.Client(base_url=live.url, timeout=30) as slow:
        t = threading.Thread(target=lambda: slow.post("/v1/classify", json={"text": ARTICLE}))
        t.start()
        try:
            assert live.runner.entered.wait(10)
            assert live.state.batcher.busy
            assert c.get("/health").status_code == 200
            assert c.get("/v1/model").json()["stats"]["queued_sentences"] == 0
            assert c.post("/v1/classify", json={"text": ""}).status_code == 422  # checked while the model works
        finally:
            live.runner.release()
            t.join(30)


def test_a_full_queue_answers_503_and_a_departed_client_costs_nothing(live):
    stats = live.state.batcher.stats
    requests, abandoned = stats.requests, stats.abandoned_requests
    live.runner.hold()
    with httpx.Client(base_url=live.url, timeout=30) as c:
        out = {}
        posts = {"a": {"sentences": SENTENCES[:1]}, "b": {"sentences": SENTENCES[:1] * 30},
                 "c": {"sentences": SENTENCES[:1] * 29}}
        threads = []
        try:
            for name, body in posts.items():
                threads.append(threading.Thread(target=lambda n=name, b=body: out.setdefault(
                    n, c.post("/v1/classify", json=b))))
                threads[-1].start()
                if name == "a":
                    assert live.runner.entered.wait(10)
            wait_for(lambda: live.state.batcher.queued_sentences == 59, "b and c to queue")
            full = c.post("/v1/classify", json={"sentences": SENTENCES[:2]})
            assert full.status_code == 503 and full.headers["retry-after"] == "1"
            assert full.json()["error"] == ("server busy: 59 sentences are waiting for the model (limit 60, tasrih "
                                            "serve --max-queued-sentences); retry shortly")
            with pytest.raises(httpx.TimeoutException):  # one more sentence fits the queue; its client gives up
                httpx.post(live.url + "/v1/classify", json={"sentences": SENTENCES[:1]}, timeout=0.5)
            pending = live.state.batcher._pending
            wait_for(lambda: len(pending) == 3 and pending[-1].future.cancelled(), "the server to see it leave")
        finally:
            live.runner.release()
            for t in threads:
                t.join(30)
    assert [out[n].status_code for n in posts] == [200, 200, 200]
    wait_for(lambda: stats.abandoned_requests == abandoned + 1, "the departed client's job to be dropped")
    assert stats.requests - requests == 3


def test_a_failed_shared_pass_is_retried_request_by_request(live):
    stats = live.state.batcher.stats
    failed, passes = stats.failed_passes, stats.passes
    bodies = [{"sentences": ["قال الوزير", "نفى المتحدث"], "doc": "p"}, {"sentences": ["رحب المجلس", "طالب النواب"],
                                                                          "doc": "q"}]
    out = {}
    live.runner.hold()
    with httpx.Client(base_url=live.url, timeout=30) as c:
        def post(key, body):
            out[key] = c.post("/v1/classify", json=body)

        threads = [threading.Thread(target=post, args=("lead", {"sentences": ["قال"]}))]
        threads[0].start()
        try:
            assert live.runner.entered.wait(10)
            threads += [threading.Thread(target=post, args=(i, b)) for i, b in enumerate(bodies)]
            for t in threads[1:]:
                t.start()
            wait_for(lambda: live.state.batcher.queued_requests == 2, "both requests to queue")
            live.runner.fail_rows_over = 3  # the shared pass (4 rows) fails; each request alone (2 rows) fits
        finally:
            live.runner.release()
            for t in threads:
                t.join(30)
            live.runner.fail_rows_over = None
    assert stats.failed_passes - failed == 1
    assert stats.passes - passes == 3  # the lead, then p and q on their own
    for i, body in enumerate(bodies):
        assert out[i].status_code == 200
        assert [(r["doc"], r["text"]) for r in out[i].json()["results"]] == [(body["doc"], t)
                                                                             for t in body["sentences"]]


def test_a_failed_forward_pass_fails_its_requests_not_the_server(live):
    live.runner.fail_next = RuntimeError("CUDA out of memory (raised by the test)")
    r = httpx.post(live.url + "/v1/classify", json={"text": ARTICLE})
    assert r.status_code == 500
    assert "RuntimeError: CUDA out of memory (raised by the test)" in r.json()["error"]
    assert httpx.post(live.url + "/v1/classify", json={"text": ARTICLE}).status_code == 200


# --------------------------------------------------------------------------- bad input

LONG = "ب" * 1501
BAD = [
    # (body, status, field): body is JSON-encoded unless it is bytes
    (b"", 400, "body"),
    (b'{"text": ', 400, "body"),
    (b'{"text": "\xff\xfe"}', 400, "body"),
    (b"[" * 5000, 400, "body"),
    ([], 422, "body"),
    ("just text", 422, "body"),
    ({}, 422, "body"),
    ({"doc": "d"}, 422, "body"),
    ({"txt": "قال"}, 422, "txt"),
    ({"text": "قال", "sentences": ["قال"]}, 422, "text, sentences"),
    ({"text": 5}, 422, "text"),
    ({"text": ""}, 422, "text"),
    ({"text": " \n\t"}, 422, "text"),
    ({"texts": []}, 422, "texts"),
    ({"texts": "قال"}, 422, "texts"),
    ({"texts": [3]}, 422, "texts[0]"),
    ({"texts": ["قال", ""]}, 422, "texts[1]"),
    ({"texts": [{"id": "a"}]}, 422, "texts[0].text"),
    ({"texts": [{"id": "a", "text": "قال", "lang": "ar"}]}, 422, "texts[0].lang"),
    ({"texts": [{"id": ["a"], "text": "قال"}]}, 422, "texts[0].id"),
    ({"texts": ["قال", {"id": "0", "text": "نفى"}]}, 422, "texts[1].id"),
    ({"texts": ["قال"], "doc": "d"}, 422, "doc"),
    ({"sentences": "قال"}, 422, "sentences"),
    ({"sentences": ["قال", ""]}, 422, "sentences[1]"),
    ({"sentences": ["قال", None]}, 422, "sentences[1]"),
    ({"text": "قال", "doc": ""}, 422, "doc"),
    ({"text": "قال", "doc": 7}, 422, "doc"),
    ({"text": "قال", "min_confidence": 1.5}, 422, "min_confidence"),
    ({"text": "قال", "min_confidence": "0.5"}, 422, "min_confidence"),
    ({"text": "قال", "min_confidence": True}, 422, "min_confidence"),
    (b'{"text": "x", "min_confidence": NaN}', 422, "min_confidence"),
    ({"sentences": ["قال"] * 31}, 413, "sentences"),
    ({"text": "قال الوزير. " * 31}, 413, "text"),
    ({"texts": ["قال الوزير. " * 20, "قال الوزير. " * 11]}, 413, "texts"),
    ({"sentences": ["قال", LONG]}, 413, "sentences[1]"),
    ({"text": f"قال الوزير. {LONG}"}, 413, "text"),
    ({"texts": ["قال", {"id": "x", "text": LONG}]}, 413, "texts[1].text"),
    ({"text": "ب" * 40_001}, 413, "body"),
]


@pytest.mark.parametrize("body, status, field", BAD, ids=[f"{s}-{f}-{i}" for i, (_, s, f) in enumerate(BAD)])
def test_bad_input_gets_a_4xx_naming_the_field(live, body, status, field):
    content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    r = httpx.post(live.url + "/v1/classify", content=content, headers={"content-type": "application/json"})
    assert (r.status_code, r.headers["content-type"]) == (status, "application/json")
    assert r.json()["field"] == field
    assert r.json()["error"].startswith(f"{field}: ")


def test_limit_messages_say_which_flag_to_change(live):
    r = httpx.post(live.url + "/v1/classify", json={"sentences": ["قال", LONG]})
    assert r.json()["error"] == ("sentences[1]: this sentence has 1,501 characters, over the limit of 1,500 "
                                 "(tasrih serve --max-sentence-chars); it starts «" + "ب" * 40 + "». Split it, "
                                 "or raise the limit: a long sentence is read in several windows, never truncated")
    r = httpx.post(live.url + "/v1/classify", json={"text": "قال الوزير. " * 31})
    assert r.json()["error"] == ("text: 31 sentences after splitting into sentences, over the limit of 30 per "
                                 "request (tasrih serve --max-sentences); send them in several requests")


def test_an_oversized_body_is_refused_whether_declared_or_streamed(live):
    r = httpx.post(live.url + "/v1/classify", content=b"x" * 50_000)
    assert r.status_code == 413
    assert r.json()["error"] == ("body: 50,000 bytes, over the limit of 40,000 bytes (tasrih serve "
                                 "--max-body-bytes); send fewer articles per request")
    r = httpx.post(live.url + "/v1/classify", content=(b"x" * 10_000 for _ in range(5)))  # chunked, no length
    assert r.status_code == 413 and r.json()["field"] == "body"


def test_unknown_paths_and_methods_get_json_errors_and_the_server_stays_up(live):
    r = httpx.get(live.url + "/v1/clasify")
    assert (r.status_code, r.json()) == (404, {"error": "no such endpoint: GET /v1/clasify; the endpoints are "
                                                        "listed at /docs"})
    r = httpx.get(live.url + "/v1/classify")
    assert r.status_code == 405 and r.json()["error"].startswith("method not allowed: GET /v1/classify")
    assert httpx.get(live.url + "/health").status_code == 200
    assert httpx.post(live.url + "/v1/classify", json={"text": ARTICLE}).status_code == 200


# --------------------------------------------------------------------------- the command

def tasrih(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "train.cli", *args], cwd=REPO, **kw)


@contextmanager
def serve_process(model_dir, tmp_path, *args):
    log = tmp_path / "serve.log"
    with open(log, "w") as f:
        proc = tasrih("serve", "--model", str(model_dir), *args, stdout=f, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "listening on http://" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        url = log.read_text().split("listening on ")[1].split()[0]
        yield proc, url, log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_tasrih_serve_runs_loads_once_and_stops_on_ctrl_c(model_dir, tmp_path, reference, capsys):
    with serve_process(model_dir, tmp_path, "--port", "0", "--no-access-log") as (proc, url, log):
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/ready").status_code == 200:
                    break
            except httpx.ConnectError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        r = httpx.post(url + "/v1/classify", json={"text": ARTICLE})
        assert_same_rows(r.json()["results"], list(reference.classify_text(ARTICLE)))
        # A second server on the same port: a one-line error, not a traceback.
        port = url.rsplit(":", 1)[1]
        assert main(["serve", "--model", str(model_dir), "--port", port]) == 2
        assert capsys.readouterr().err.strip() == (f"tasrih: error: cannot listen on 127.0.0.1:{port}: Address "
                                                   f"already in use; another process is using it: stop it or "
                                                   f"pick another --port")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        assert log.read_text().count("model tiny-tasrih loaded") == 1


@pytest.mark.parametrize("args, message", [
    (["--model", "{tmp}/nope"], "tasrih: error: {tmp}/nope: no such model directory"),
    (["--max-sentences", "9000"], "tasrih: error: --max-queued-sentences (4096) must be at least --max-sentences "
                                  "(9000), or a full request could never be queued"),
    (["--max-batch-sentences", "0"], "tasrih: error: --max-batch-sentences must be at least 1, got 0"),
    (["--backend", "tensorrt"], "tasrih: error: --backend tensorrt: unknown; choose one of"),
    (["--host", "no-such-host.invalid"], "tasrih: error: --host no-such-host.invalid: cannot be resolved"),
])
def test_tasrih_serve_refuses_bad_settings_before_listening(model_dir, tmp_path, capsys, args, message):
    # In-process: the same main() as the `tasrih` script, without paying a torch import per case.
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--model" not in args:
        args = ["--model", str(model_dir), *args]
    assert main(["serve", *args]) == 2
    assert capsys.readouterr().err.startswith(message.replace("{tmp}", str(tmp_path)))


def test_the_shipped_default_model_is_served():
    """No --model: the model that ships in infer/default_model (e5-small on ONNX Runtime) answers too."""
    with LiveServer(ServeSettings(**SETTINGS)) as srv:
        srv.wait_ready()
        info = httpx.get(srv.url + "/v1/model").json()
        assert (info["model"], info["backend"], info["labels"]) == ("default_model", "onnx", list(LABELS))
        r = httpx.post(srv.url + "/v1/classify", json={"text": ARTICLE, "doc": "seed"})
        assert r.status_code == 200
        rows = r.json()["results"]
        assert [row["sentence_index"] for row in rows] == list(range(12))
        assert rows == list(Tasrih.from_pretrained().classify_text(ARTICLE, doc="seed"))


# --------------------------------------------------------------------------- issue 11, "a user's first hour"

def test_serve_refuses_the_int8_backend_for_the_classical_baseline_before_starting(baseline_model, capsys):
    assert json.loads((baseline_model / "config.json").read_text())["model_type"] == "tasrih-baseline"
    assert main(["serve", "--model", str(baseline_model), "--backend", "int8", "--port", "0"]) == 2
    assert capsys.readouterr().err.strip() == (f"tasrih: error: {baseline_model}: --backend int8 is for transformer "
                                               f"models; the classical baseline runs as it is: leave --backend out")


def local_urls(html: str) -> list[str]:
    """Every URL a docs page loads: src and href attributes, Swagger UI's spec url, ReDoc's spec-url."""
    import re

    return re.findall(r"""(?:src|href|spec-url)="([^"]*)"|url: '([^']*)'""", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_api_docs_load_everything_from_the_server_itself(live, page):
    """Offline (no CDN), /docs must still work: every file it loads comes from the server, and is there."""
    r = httpx.get(live.url + page)
    assert r.status_code == 200
    assert "http://" not in r.text and "https://" not in r.text and "//cdn" not in r.text
    urls = [a or b for a, b in local_urls(r.text)]
    assert len(urls) >= 3  # the script, a stylesheet or icon, the OpenAPI spec
    kinds = set()
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        got = httpx.get(live.url + url)
        assert got.status_code == 200, url
        kinds.add(got.headers["content-type"].split(";")[0])
        if url.endswith(".js"):
            assert len(got.content) > 500_000  # the real bundle, not a stub
    assert "application/javascript" in kinds or "text/javascript" in kinds
    assert "application/json" in kinds
    if page == "/docs":
        assert "text/css" in kinds


@pytest.mark.parametrize("body, error", [
    ({"texts": []}, "texts: is an empty array; give at least one article"),
    ({"sentences": []}, "sentences: is an empty array; give at least one sentence"),
])
def test_an_empty_array_gets_a_grammatical_message(live, body, error):
    r = httpx.post(live.url + "/v1/classify", json=body)
    assert (r.status_code, r.json()["error"]) == (422, error)
