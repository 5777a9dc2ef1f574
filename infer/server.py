"""`tasrih serve`: classify Arabic news over HTTP.

    tasrih serve --model outputs/run --port 8000
    curl -s localhost:8000/v1/classify -H 'Content-Type: application/json' -d '{"text": "..."}'

How a request travels:

1. ``BodyLimit`` refuses a body over ``max_body_bytes`` before anything parses it.
2. ``parse_request`` checks the JSON and the limits and splits articles into
   sentences; every refusal names the field at fault (``RequestError``).
3. ``MicroBatcher`` lets requests that arrive within a few milliseconds of each
   other share one forward pass, which runs in a single worker thread so that
   the event loop keeps answering (``/health``, new requests) meanwhile.
4. ``DocumentContext`` turns the model's per-sentence predictions back into the
   rows ``tasrih classify`` writes, one document at a time.

The model is loaded once, in the background: ``GET /ready`` answers 503 until
it is in. FastAPI, uvicorn and torch are imported only when a server is built,
so ``tasrih --help`` and the other subcommands do not pay for them.
See docs/serving.md.
"""

import argparse
import asyncio
import contextlib
import errno
import json
import logging
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from infer.document import ROW_FIELDS, DocumentContext
from infer.labels import CLAIMS, LABELS
from infer.text import split_sentences

log = logging.getLogger("tasrih.serve")


# --------------------------------------------------------------------------- settings

@dataclass
class ServeSettings:
    """Everything `tasrih serve` can be told; each field is the CLI flag of the same name."""

    model: str | None = None  # None: the model that ships with tasrih
    host: str = "127.0.0.1"  # this machine only; exposing the server is a deliberate choice
    port: int = 8000
    backend: str = "auto"
    device: str = "auto"
    # Micro-batching: a forward pass starts as soon as max_batch_sentences wait, or when the
    # oldest waiting request has waited max_delay_ms. The delay is only paid when the model is
    # idle; under load, requests gather on their own while the previous pass runs.
    max_batch_sentences: int = 64
    max_delay_ms: float = 5.0
    # Back-pressure: beyond this many waiting sentences a request gets 503 + Retry-After at
    # once, instead of joining a queue whose latency only grows.
    max_queued_sentences: int = 4096
    # Request limits.
    max_body_bytes: int = 1_000_000
    max_sentences: int = 512
    max_sentence_chars: int = 5_000

    def check(self) -> None:
        """Raise ValueError, naming the flag, for settings that cannot work."""
        for name in ("max_batch_sentences", "max_queued_sentences", "max_body_bytes", "max_sentences",
                     "max_sentence_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"{flag(name)} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.max_delay_ms <= 10_000:
            raise ValueError(f"--max-delay-ms must be between 0 and 10000, got {self.max_delay_ms}")
        if self.max_queued_sentences < self.max_sentences:
            raise ValueError(f"--max-queued-sentences ({self.max_queued_sentences}) must be at least "
                             f"--max-sentences ({self.max_sentences}), or a full request could never be queued")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"--port must be between 0 and 65535, got {self.port}")

    def limits(self) -> dict:
        return {"max_body_bytes": self.max_body_bytes, "max_sentences": self.max_sentences,
                "max_sentence_chars": self.max_sentence_chars}

    def batching(self) -> dict:
        return {"max_batch_sentences": self.max_batch_sentences, "max_delay_ms": self.max_delay_ms,
                "max_queued_sentences": self.max_queued_sentences}


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


# --------------------------------------------------------------------------- request parsing

class RequestError(Exception):
    """Input the server will not classify; ``field`` names the part of the request at fault."""

    def __init__(self, status: int, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.status, self.field, self.message = status, field, message

    def payload(self) -> dict:
        return {"error": f"{self.field}: {self.message}", "field": self.field}


INPUT_FIELDS = ("text", "texts", "sentences")
OPTION_FIELDS = ("doc", "min_confidence")
EXAMPLE = '{"text": "..."}'


@dataclass
class Document:
    id: str
    field: str  # where in the request it came from, for error messages
    sentences: list[str]


@dataclass
class ParsedRequest:
    documents: list[Document]
    min_confidence: float | None = None

    def sentences(self) -> list[str]:
        return [s for d in self.documents for s in d.sentences]


def json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def need_text(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise RequestError(422, where, f"must be a string, got {json_type(value)}")
    if not value.strip():
        raise RequestError(422, where, "is empty" if not value else "is only whitespace, nothing to classify")
    return value


def need_list(where: str, value: Any, what: str, one: str) -> list:
    """``what``: the items, plural ("non-empty strings"); ``one``: a single item ("sentence")."""
    if not isinstance(value, list):
        raise RequestError(422, where, f"must be an array of {what}, got {json_type(value)}")
    if not value:
        raise RequestError(422, where, f"is an empty array; give at least one {one}")
    return value


def split_article(where: str, text: str) -> list[str]:
    sentences = [p.text for p in split_sentences(text)]
    if not sentences:  # split_sentences drops only whitespace, so this is a guard, not a path
        raise RequestError(422, where, "no sentence found in this text")
    return sentences


def parse_request(body: bytes, settings: ServeSettings) -> ParsedRequest:
    """Check a /v1/classify body against the schema and the limits; split articles into sentences.

    A JSON ``null`` counts as absent, as client libraries often send unset optional fields that way.
    """
    if not body.strip():
        raise RequestError(400, "body", f"is empty; send a JSON object such as {EXAMPLE}")
    try:
        obj = json.loads(body)
    except UnicodeDecodeError as e:
        raise RequestError(400, "body", f"is not UTF-8 (byte 0x{e.object[e.start]:02x} at offset {e.start}); "
                                        f"send the JSON encoded as UTF-8") from None
    except json.JSONDecodeError as e:
        raise RequestError(400, "body", f"is not valid JSON ({e.msg} at line {e.lineno} column {e.colno}); "
                                        f"send a JSON object such as {EXAMPLE}") from None
    except RecursionError:
        raise RequestError(400, "body", "is nested too deeply to be a classify request") from None
    if not isinstance(obj, dict):
        raise RequestError(422, "body", f"must be a JSON object such as {EXAMPLE}, got {json_type(obj)}")
    for key in obj:
        if key not in INPUT_FIELDS + OPTION_FIELDS:
            raise RequestError(422, key, "unknown field; a request takes one of text, texts or sentences, "
                                         "and optionally doc and min_confidence")
    given = [k for k in INPUT_FIELDS if obj.get(k) is not None]
    if not given:
        raise RequestError(422, "body", "give one of text (an article), texts (several articles) or "
                                        "sentences (sentences of one document, not split further)")
    if len(given) > 1:
        raise RequestError(422, ", ".join(given), "give exactly one of text, texts or sentences, not several")
    kind = given[0]

    doc = obj.get("doc")
    if doc is not None:
        if kind == "texts":
            raise RequestError(422, "doc", 'applies to text or sentences only; with texts, give each article '
                                           'its id as {"id": "...", "text": "..."}')
        need_text("doc", doc)
    min_conf = obj.get("min_confidence")
    if min_conf is not None:
        if isinstance(min_conf, bool) or not isinstance(min_conf, (int, float)):
            raise RequestError(422, "min_confidence", f"must be a number between 0 and 1, got {json_type(min_conf)}")
        if not 0 <= min_conf <= 1:  # also refuses NaN, which Python's JSON reader accepts
            raise RequestError(422, "min_confidence", f"must be between 0 and 1, got {min_conf}")

    documents: list[Document] = []
    if kind == "text":
        documents.append(Document(doc or "input", "text", split_article("text", need_text("text", obj["text"]))))
    elif kind == "sentences":
        items = need_list("sentences", obj["sentences"], "non-empty strings", "sentence")
        documents.append(Document(doc or "input", "sentences",
                                  [need_text(f"sentences[{i}]", s) for i, s in enumerate(items)]))
    else:
        seen: dict[str, str] = {}
        items = need_list("texts", obj["texts"], 'articles (strings or {"id", "text"} objects)', "article")
        for i, item in enumerate(items):
            where = f"texts[{i}]"
            if isinstance(item, str):
                doc_id, text_field, text = str(i), where, item
            elif isinstance(item, dict):
                for key in item:
                    if key not in ("id", "text"):
                        raise RequestError(422, f"{where}.{key}", 'unknown field; an article is {"id", "text"}')
                if "text" not in item:
                    raise RequestError(422, f"{where}.text", 'is missing; an article is {"id", "text"}')
                doc_id = item.get("id", str(i))
                if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
                    raise RequestError(422, f"{where}.id", f"must be a string, got {json_type(doc_id)}")
                doc_id = str(doc_id)
                if not doc_id.strip():
                    raise RequestError(422, f"{where}.id", "is empty")
                text_field, text = f"{where}.text", item["text"]
            else:
                raise RequestError(422, where, f'must be a string or an object {{"id", "text"}}, '
                                               f'got {json_type(item)}')
            if doc_id in seen:
                raise RequestError(422, f"{where}.id" if isinstance(item, dict) else where,
                                   f"document id {doc_id!r} is already used by {seen[doc_id]}; ids must be unique "
                                   f"so that the results can be told apart")
            seen[doc_id] = where
            documents.append(Document(doc_id, text_field, split_article(text_field, need_text(text_field, text))))

    total = sum(len(d.sentences) for d in documents)
    if total > settings.max_sentences:
        split = "" if kind == "sentences" else " after splitting into sentences"
        raise RequestError(413, kind, f"{total} sentences{split}, over the limit of {settings.max_sentences} per "
                                      f"request (tasrih serve --max-sentences); send them in several requests")
    for d in documents:
        for k, s in enumerate(d.sentences):
            if len(s) > settings.max_sentence_chars:
                where = f"sentences[{k}]" if kind == "sentences" else d.field
                which = "this sentence" if kind == "sentences" else f"sentence {k} of this article"
                raise RequestError(413, where, f"{which} has {len(s):,} characters, over the limit of "
                                               f"{settings.max_sentence_chars:,} (tasrih serve --max-sentence-chars); "
                                               f"it starts «{s[:40]}». Split it, or raise the limit: a long "
                                               f"sentence is read in several windows, never truncated")
    return ParsedRequest(documents, min_conf)


# --------------------------------------------------------------------------- micro-batching

class Overloaded(Exception):
    """Too many sentences are already waiting for the model."""


class ShuttingDown(Exception):
    """The server is stopping; the request was not classified."""


class PredictionError(Exception):
    """The forward pass failed; every request in that pass gets this."""


@dataclass(eq=False)
class _Job:
    sentences: list[str]
    future: asyncio.Future
    arrived: float


@dataclass
class BatchStats:
    passes: int = 0
    requests: int = 0
    sentences: int = 0
    largest_pass_sentences: int = 0
    largest_pass_requests: int = 0
    failed_passes: int = 0
    abandoned_requests: int = 0  # callers gone before their pass: not computed


class MicroBatcher:
    """Lets concurrent requests share forward passes.

    ``submit`` queues a request's sentences and waits. One worker task takes
    the waiting requests in arrival order, up to ``max_batch_sentences`` (a
    larger request goes alone: ``predict`` cuts it into batches itself), runs
    ``predict`` on their sentences in ``executor`` -- a single thread, so the
    model runs one pass at a time and the event loop never waits on it -- and
    hands each caller back its own rows, in order.
    """

    def __init__(self, predict: Callable[[list[str]], list[dict]], executor: ThreadPoolExecutor, *,
                 max_batch_sentences: int, max_delay_ms: float, max_queued_sentences: int):
        self._predict = predict
        self._executor = executor
        self.max_batch = max_batch_sentences
        self.max_delay = max_delay_ms / 1000
        self.max_queued = max_queued_sentences
        self._pending: deque[_Job] = deque()
        self._in_flight: list[_Job] = []
        self.queued_sentences = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.stats = BatchStats()

    @property
    def queued_requests(self) -> int:
        return len(self._pending)

    @property
    def busy(self) -> bool:
        return bool(self._in_flight)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="tasrih-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for job in [*self._in_flight, *self._pending]:
            if not job.future.done():
                job.future.set_exception(ShuttingDown())
        self._pending.clear()
        self._in_flight = []
        self.queued_sentences = 0

    async def submit(self, sentences: list[str]) -> list[dict]:
        if self._task is None or self._task.done():
            raise ShuttingDown()
        if self.queued_sentences + len(sentences) > self.max_queued:
            raise Overloaded(self.queued_sentences)
        loop = asyncio.get_running_loop()
        job = _Job(sentences, loop.create_future(), loop.time())
        self._pending.append(job)
        self.queued_sentences += len(sentences)
        self._changed.set()
        # If this caller is cancelled (client gone), the future is cancelled too and the worker skips the job.
        return await job.future

    def _take(self) -> list[_Job]:
        """The oldest waiting jobs that fit one pass (at least one job); jobs nobody awaits are dropped."""
        jobs: list[_Job] = []
        n = 0
        while self._pending:
            job = self._pending[0]
            if job.future.done():
                self._pending.popleft()
                self.queued_sentences -= len(job.sentences)
                self.stats.abandoned_requests += 1
                continue
            if jobs and n + len(job.sentences) > self.max_batch:
                break  # first in, first served: never let small late requests overtake a large early one
            self._pending.popleft()
            self.queued_sentences -= len(job.sentences)
            jobs.append(job)
            n += len(job.sentences)
        return jobs

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._pending:
                self._changed.clear()
                await self._changed.wait()
            # Wait for company until the oldest request has waited max_delay, unless a full pass is already here.
            deadline = self._pending[0].arrived + self.max_delay
            while self.queued_sentences < self.max_batch and (left := deadline - loop.time()) > 0:
                self._changed.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)
            jobs = self._take()
            if not jobs:
                continue
            self._in_flight = jobs
            try:
                await self._pass(jobs)
            finally:
                self._in_flight = []

    async def _pass(self, jobs: list[_Job]) -> None:
        """One forward pass over the jobs' sentences; each job's future gets its own rows or the error."""
        sentences = [s for job in jobs for s in job.sentences]
        try:
            rows = await asyncio.get_running_loop().run_in_executor(self._executor, self._predict, sentences)
            if len(rows) != len(sentences):
                raise RuntimeError(f"predict returned {len(rows)} rows for {len(sentences)} sentences")
        except Exception as e:  # a failed pass fails requests, never the worker
            log.exception("forward pass over %d sentences of %d requests failed", len(sentences), len(jobs))
            self.stats.failed_passes += 1
            if len(jobs) > 1:
                # One request's input may be what broke the pass, or the pass was too big for the device:
                # try each request on its own, so that only the request at fault fails.
                for job in jobs:
                    if not job.future.done():
                        await self._pass([job])
                return
            if not jobs[0].future.done():
                jobs[0].future.set_exception(PredictionError(f"{type(e).__name__}: {e}"))
            return
        s = self.stats
        s.passes += 1
        s.requests += len(jobs)
        s.sentences += len(sentences)
        s.largest_pass_sentences = max(s.largest_pass_sentences, len(sentences))
        s.largest_pass_requests = max(s.largest_pass_requests, len(jobs))
        start = 0
        for job in jobs:
            end = start + len(job.sentences)
            if not job.future.done():
                job.future.set_result(rows[start:end])
            start = end


# --------------------------------------------------------------------------- the app

async def client_gone(request) -> None:
    """Return when the client disconnects (after the body is read, receive() waits for exactly that)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


class BodyLimit:
    """ASGI middleware: refuse a request body over ``max_bytes`` with 413, before anything parses it.

    The declared Content-Length is checked first; a chunked body is counted as it
    arrives. The body is buffered and replayed to the app, which reads it whole anyway.
    """

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self, size: str) -> dict:
        return {"error": f"body: {size}, over the limit of {self.max_bytes:,} bytes (tasrih serve --max-body-bytes); "
                         f"send fewer articles per request", "field": "body"}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                return await send_json(send, 400, {"error": "Content-Length: not a number", "field": "Content-Length"})
            if int(declared) > self.max_bytes:
                return await send_json(send, 413, self._too_large(f"{int(declared):,} bytes"))
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await send_json(send, 413, self._too_large(f"more than {self.max_bytes:,} bytes"))
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # later calls wait for the disconnect, as the real receive does

        await self.app(scope, replay, send)


async def send_json(send, status: int, payload: dict, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tasrih")
    except PackageNotFoundError:  # running from a checkout that was never pip-installed
        return "unknown (not installed)"


@dataclass
class ServerState:
    settings: ServeSettings
    model: Any = None  # the Tasrih instance, set once it can serve
    batcher: MicroBatcher | None = None
    load_error: str | None = None
    load_seconds: float | None = None
    started: float = field(default_factory=time.time)


# The request body as /docs shows it. The body is parsed by parse_request, not by FastAPI, so that
# every refusal names its field in words; this schema is documentation only.
CLASSIFY_BODY = {
    "type": "object",
    "description": "Exactly one of `text`, `texts` or `sentences`; `doc` and `min_confidence` are optional.",
    "properties": {
        "text": {"type": "string", "description": "One article; it is split into sentences."},
        "texts": {"type": "array", "description": "Several articles. A string gets the doc id of its position "
                                                  "('0', '1', ...); an object gives its own id.",
                  "items": {"oneOf": [{"type": "string"},
                                      {"type": "object", "required": ["text"], "additionalProperties": False,
                                       "properties": {"id": {"type": "string"}, "text": {"type": "string"}}}]}},
        "sentences": {"type": "array", "items": {"type": "string"},
                      "description": "Sentences of one document, classified as given (not split further)."},
        "doc": {"type": "string", "default": "input", "description": "Document id for `text` or `sentences`."},
        "min_confidence": {"type": "number", "minimum": 0, "maximum": 1,
                           "description": "Adds `low_confidence: true` to rows whose label probability is below."},
    },
    "additionalProperties": False,
}
CLASSIFY_EXAMPLES = {
    "article": {"summary": "one article", "value": {
        "text": "اتهمت وزارة الخارجية الروسية واشنطن بدعم الإرهاب. ونفت الولايات المتحدة ذلك.", "doc": "a1"}},
    "articles": {"summary": "several articles", "value": {
        "texts": [{"id": "a1", "text": "طالب المجلس بوقف إطلاق النار."}, "رحبت الحكومة بالاتفاق."]}},
    "sentences": {"summary": "sentences, not split further", "value": {
        "sentences": ["وأكد الوزير رفض المقترح.", "ودعا إلى استئناف المفاوضات."], "min_confidence": 0.5}},
}
ROW_EXAMPLE = {"doc": "a1", "sentence_index": 0, "text": "اتهمت وزارة الخارجية الروسية واشنطن بدعم الإرهاب.",
               "label": "accusation", "scores": {"none": 0.02, "accusation": 0.95, "denial": 0.01,
                                                 "agreement": 0.01, "demand": 0.01},
               "also": [], "actor": {"start": 6, "end": 28, "text": "وزارة الخارجية الروسية"},
               "actor_resolved": "وزارة الخارجية الروسية", "actor_code": None,
               "target": {"start": 29, "end": 35, "text": "واشنطن"}, "windows": 1}


def error_doc(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"example": {
        "error": "sentences[2]: is empty", "field": "sentences[2]"}}}}


def create_app(settings: ServeSettings, loader: Callable[[], Any] | None = None,
               on_load_error: Callable[[str], None] | None = None):
    """The FastAPI app. ``loader`` returns the model (default: ``Tasrih.from_pretrained`` with the settings);
    ``on_load_error`` is told when it fails (``tasrih serve`` then stops with an error)."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response
    from starlette.exceptions import HTTPException as StarletteHTTPException

    settings.check()
    if loader is None:
        def loader():
            from infer.predict import Tasrih

            return Tasrih.from_pretrained(settings.model, device=settings.device, backend=settings.backend)

    state = ServerState(settings)
    version = package_version()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        # One thread runs the model: passes never overlap (no locking inside the model needed), and torch
        # still uses every core inside a pass.
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tasrih-model")
        loop = asyncio.get_running_loop()

        async def load():
            t0 = time.perf_counter()
            try:
                model = await loop.run_in_executor(executor, loader)
            except Exception as e:  # ModelLoadError names the file; anything else still must not pass silently
                state.load_error = str(e) or type(e).__name__
                log.error("the model could not be loaded: %s", state.load_error)
                if on_load_error is not None:
                    on_load_error(state.load_error)
                return
            batcher = MicroBatcher(lambda sentences: model.predict(sentences, batch_size=settings.max_batch_sentences),
                                   executor, max_batch_sentences=settings.max_batch_sentences,
                                   max_delay_ms=settings.max_delay_ms,
                                   max_queued_sentences=settings.max_queued_sentences)
            batcher.start()
            state.batcher = batcher
            state.load_seconds = round(time.perf_counter() - t0, 3)
            state.model = model  # last: /ready says 200 only once requests can be served
            log.info("model %s loaded in %.1f s (backend %s); ready", model.name, state.load_seconds,
                     getattr(model, "backend", "torch"))

        loading = asyncio.create_task(load())
        try:
            yield
        finally:
            loading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loading
            if state.batcher is not None:
                await state.batcher.stop()
            executor.shutdown(wait=False, cancel_futures=True)

    try:  # Swagger UI's and ReDoc's files served from the package, not a CDN: /docs works offline
        from fastapi_offline import FastAPIOffline
    except ImportError:  # an install without it: the docs pages then fetch their files from a CDN
        FastAPIOffline = FastAPI
    app = FastAPIOffline(
        title="tasrih", version=version, lifespan=lifespan, swagger_ui_parameters={"validatorUrl": None},
        description="Label every sentence of Arabic news as accusation, denial, agreement, demand or none, "
                    "with the actor who makes the claim and its target. See docs/serving.md.")
    app.state.tasrih = state
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    def not_ready() -> JSONResponse:
        if state.load_error is not None:
            return JSONResponse({"status": "failed", "error": f"the model could not be loaded: {state.load_error}"},
                                status_code=503)
        return JSONResponse({"status": "loading", "error": "the model is still loading; retry when GET /ready "
                                                           "answers 200"},
                            status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        where = f"{request.method} {request.url.path}"
        if exc.status_code == 404:
            message = f"no such endpoint: {where}; the endpoints are listed at /docs"
        elif exc.status_code == 405:
            message = f"method not allowed: {where}; the endpoints and their methods are listed at /docs"
        else:
            message = str(exc.detail)
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        # Reached only by a bug: bad input is refused before it gets anywhere that can raise.
        log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": f"internal error ({type(exc).__name__}); the server is still up, "
                                      f"its log has the details"}, status_code=500)

    @app.get("/health", tags=["status"], summary="the process is up (whether or not the model is loaded)")
    async def health():
        return {"status": "ok", "ready": state.model is not None}

    @app.get("/ready", tags=["status"], summary="200 once the model is loaded and requests can be served, else 503",
             responses={503: {"description": "still loading, or the model could not be loaded"}})
    async def ready():
        if state.model is None:
            return not_ready()
        return {"status": "ready", "model": state.model.name}

    @app.get("/v1/model", tags=["model"], summary="the model served, its labels, backend, version and limits",
             responses={503: {"description": "the model is not loaded yet"}})
    async def model_info():
        if state.model is None:
            return not_ready()
        m = state.model
        return {"model": m.name, "labels": list(LABELS), "claims": list(CLAIMS),
                "backend": getattr(m, "backend", "torch"), "device": str(getattr(getattr(m, "model", None), "device", "cpu")),
                "max_length": getattr(m, "max_length", None), "version": version, "load_seconds": state.load_seconds,
                "limits": settings.limits(), "batching": settings.batching(),
                "stats": {**vars(state.batcher.stats), "queued_sentences": state.batcher.queued_sentences}}

    @app.post(
        "/v1/classify", tags=["model"], summary="label every sentence of one or several articles",
        description="Answers `{\"model\", \"results\"}`: one object per sentence, in order, with the fields "
                    "`tasrih classify` writes: " + ", ".join(ROW_FIELDS) + " (and `low_confidence` when "
                    "`min_confidence` is given). A sentence longer than the model's window is read in several "
                    "windows (`windows` > 1), never truncated.",
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
            "schema": CLASSIFY_BODY, "examples": CLASSIFY_EXAMPLES}}}},
        responses={200: {"description": "one row per sentence", "content": {"application/json": {
                       "example": {"model": "default_model", "results": [ROW_EXAMPLE]}}}},
                   400: error_doc("the body is not JSON"),
                   413: error_doc("over a limit: body bytes, sentences per request, characters per sentence"),
                   422: error_doc("JSON of the wrong shape; `field` names the part at fault"),
                   503: {"description": "the model is loading, the queue is full (see Retry-After) or the "
                                        "server is stopping"}})
    async def classify(request: Request):
        if state.model is None:
            return not_ready()
        body = await request.body()
        try:
            # Splitting a long article is real work: keep it off the event loop too.
            parsed = await asyncio.to_thread(parse_request, body, settings)
        except RequestError as e:
            return JSONResponse(e.payload(), status_code=e.status)
        # Watch for the client going away while the request waits: a client that timed out must not keep its
        # sentences in the queue, or under overload the model would spend its time on answers nobody reads.
        work = asyncio.ensure_future(state.batcher.submit(parsed.sentences()))
        gone = asyncio.ensure_future(client_gone(request))
        try:
            await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not work.done():
            work.cancel()  # the batcher drops a cancelled job before its pass
            return Response(status_code=499)  # nginx's "client closed request"; nobody reads it
        try:
            predictions = work.result()
        except Overloaded as e:
            waiting = f"{e.args[0]} sentences are" if e.args[0] != 1 else "1 sentence is"
            return JSONResponse({"error": f"server busy: {waiting} waiting for the model (limit "
                                          f"{settings.max_queued_sentences}, tasrih serve --max-queued-sentences); "
                                          f"retry shortly"}, status_code=503, headers={"Retry-After": "1"})
        except ShuttingDown:
            return JSONResponse({"error": "the server is shutting down; retry on another instance"}, status_code=503)
        except PredictionError as e:
            return JSONResponse({"error": f"the model failed on the batch holding this request ({e}); the server "
                                          f"is still up, its log has the details"}, status_code=500)
        results = []
        it = iter(predictions)
        for d in parsed.documents:
            context = DocumentContext(d.id)
            for _ in d.sentences:
                row = context.row(next(it))
                if parsed.min_confidence is not None:
                    row["low_confidence"] = row["scores"][row["label"]] < parsed.min_confidence
                results.append(row)
        return JSONResponse({"model": state.model.name, "results": results})

    return app


# --------------------------------------------------------------------------- the command

def add_serve_parser(sub) -> None:
    d = ServeSettings()
    p = sub.add_parser(
        "serve", help="serve predictions over HTTP (POST /v1/classify)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Load a model once and serve it over HTTP with FastAPI and uvicorn. Requests that arrive "
                    "together share forward passes (micro-batching); the model runs in a worker thread so the "
                    "server keeps answering while it works.",
        epilog="endpoints:\n"
               "  POST /v1/classify  {\"text\": ...} | {\"texts\": [...]} | {\"sentences\": [...]}, optional doc,\n"
               "                     min_confidence; answers {\"model\", \"results\"}, rows as `tasrih classify`\n"
               "  GET  /health       the process is up\n"
               "  GET  /ready        200 once the model is loaded, 503 before\n"
               "  GET  /v1/model     model name, labels, backend, version, limits, batching statistics\n"
               "  GET  /docs         interactive API documentation\n"
               "examples:\n"
               "  tasrih serve\n"
               "  tasrih serve --model outputs/tiny_cpu/2024-01-01_00-00-00 --port 8080\n"
               "  curl -s localhost:8000/v1/classify -H 'Content-Type: application/json' \\\n"
               "       -d '{\"text\": \"اتهمت الوزارة واشنطن بدعم الإرهاب.\"}'\n"
               "See docs/serving.md.")
    p.add_argument("--model", help="model directory (default: the model that ships with tasrih)")
    p.add_argument("--host", default=d.host,
                   help=f"address to listen on (default {d.host}: this machine only; 0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, default=d.port, help=f"port (default {d.port}; 0 picks a free one)")
    p.add_argument("--backend", default=d.backend, help=f"how the model runs (default {d.backend})")
    p.add_argument("--device", default=d.device, help="cpu, cuda or auto (default)")
    b = p.add_argument_group("micro-batching")
    b.add_argument("--max-batch-sentences", type=int, default=d.max_batch_sentences, metavar="N",
                   help=f"most sentences in one forward pass (default {d.max_batch_sentences})")
    b.add_argument("--max-delay-ms", type=float, default=d.max_delay_ms, metavar="MS",
                   help=f"longest a request waits for others to share its pass (default {d.max_delay_ms:g})")
    b.add_argument("--max-queued-sentences", type=int, default=d.max_queued_sentences, metavar="N",
                   help=f"sentences that may wait for the model; beyond, 503 + Retry-After "
                        f"(default {d.max_queued_sentences})")
    lim = p.add_argument_group("request limits (a request over one gets 413 naming the field)")
    lim.add_argument("--max-body-bytes", type=int, default=d.max_body_bytes, metavar="N",
                     help=f"request body size (default {d.max_body_bytes:,})")
    lim.add_argument("--max-sentences", type=int, default=d.max_sentences, metavar="N",
                     help=f"sentences per request, after splitting (default {d.max_sentences})")
    lim.add_argument("--max-sentence-chars", type=int, default=d.max_sentence_chars, metavar="N",
                     help=f"characters per sentence (default {d.max_sentence_chars:,}); longer sentences "
                          f"within it are read in several windows")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default="info")
    p.add_argument("--no-access-log", action="store_true", help="do not log one line per request")
    p.set_defaults(func=run_serve)


def listen_socket(host: str, port: int) -> socket.socket:
    """Bind here rather than in uvicorn, so that a busy port or a bad host is a one-line error."""
    from infer.cli import InputError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as e:
        raise InputError(f"--host {host}: cannot be resolved ({e.strerror})") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart at once after a stop
    try:
        sock.bind(address)
    except OSError as e:
        sock.close()
        hint = "; another process is using it: stop it or pick another --port" if e.errno == errno.EADDRINUSE else ""
        raise InputError(f"cannot listen on {host}:{port}: {e.strerror}{hint}") from None
    return sock


def run_serve(args) -> int:
    from infer.cli import InputError, is_baseline_dir

    settings = ServeSettings(**{f.name: getattr(args, f.name) for f in fields(ServeSettings)})
    try:
        settings.check()
    except ValueError as e:
        raise InputError(str(e)) from None
    from infer.predict import BACKENDS, DEFAULT_MODEL, ModelLoadError, check_model
    if settings.backend not in BACKENDS:
        raise InputError(f"--backend {settings.backend}: unknown; choose one of {', '.join(BACKENDS)}")
    path = Path(settings.model) if settings.model else DEFAULT_MODEL
    if settings.backend not in ("torch", "auto") and is_baseline_dir(path):
        raise InputError(f"{path}: --backend {settings.backend} is for transformer models; the classical baseline "
                         f"runs as it is: leave --backend out")
    try:  # a missing or broken model is the user's to fix: say so now, not after the server is up
        check_model(path, settings.backend)
    except ModelLoadError as e:
        raise InputError(str(e)) from None
    sock = listen_socket(settings.host, settings.port)
    host, port = sock.getsockname()[:2]

    import uvicorn

    failure: list[str] = []

    def stop_on_load_error(message: str) -> None:
        failure.append(message)
        server.should_exit = True

    app = create_app(settings, on_load_error=stop_on_load_error)
    config = uvicorn.Config(app, log_level=args.log_level, access_log=not args.no_access_log,
                            timeout_graceful_shutdown=10)
    server = uvicorn.Server(config)
    shown = f"[{host}]" if ":" in host else host
    # Printed before the model is loaded so that scripts given --port 0 learn the port at once.
    print(f"tasrih: listening on http://{shown}:{port} serving {path} (GET /ready answers 200 once the model "
          f"is loaded; API docs at /docs)", file=sys.stderr, flush=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after a graceful shutdown
        pass
    finally:
        sock.close()
    if failure:
        print(f"tasrih: error: the model could not be loaded: {failure[0]}", file=sys.stderr)
        return 1
    return 0
