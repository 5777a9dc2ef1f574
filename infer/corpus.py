"""`tasrih classify-corpus`: classify a news archive on Ray Data, one process per core or per node.

The input (JSONL or Parquet files of articles, ``{"id", "text", ...}``) is cut into *blocks* of
articles on the driver. Ray Data then runs two stages:

1. ``read_block`` (tasks): read a block's articles, send bad ones to the rejects with their reason,
   and split the rest into sentences;
2. ``ClassifyBlock`` (a pool of actors, each holding one loaded model): classify the sentences of a
   block article by article, exactly as ``tasrih classify`` does, and write the block's shard.

A shard is named by its block and written atomically (temporary name, then rename), so a shard that
exists is complete. That makes the job resumable (a rerun skips the blocks whose shard exists) and
exactly-once under faults: a block whose actor dies is redone by Ray and its shard written whole,
once, under the same name. The output folder must be one that every node of the cluster can write
(a shared filesystem), as for any Ray job that writes files.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from infer.document import ROW_FIELDS

FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
REJECTS = "rejects"


class CorpusError(Exception):
    """A corpus job that cannot start; the message says what to fix."""


# ---- planning (driver) -------------------------------------------------------------------------

def list_inputs(inputs: list[str]) -> list[Path]:
    """Files from paths, folders (their .jsonl, .json and .parquet files) and glob patterns, in order."""
    files: list[Path] = []
    for spec in inputs:
        path = Path(spec)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in FORMATS and p.is_file())
            if not found:
                raise CorpusError(f"{spec}: no .jsonl, .json or .parquet files in this folder")
        elif path.is_file():
            found = [path]
        else:
            found = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
            if not found:
                raise CorpusError(f"{spec}: no such file, folder or matching files")
        for f in found:
            if f.suffix not in FORMATS:
                raise CorpusError(f"{f}: not .jsonl, .json or .parquet; classify-corpus reads articles as "
                                  f"JSON Lines or Parquet")
        files += found
    return list(dict.fromkeys(f.resolve() for f in files))


def count_records(path: Path) -> int:
    if FORMATS[path.suffix] == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with open(path, "rb") as f:
        data = f.read()
    return len(data.split(b"\n")) - (1 if data.endswith(b"\n") or not data else 0)


def plan_blocks(files: list[Path], block_size: int) -> list[dict]:
    """The blocks of the job: a file's records [start, end); the name says which, so a rerun finds them."""
    blocks = []
    for path in files:
        n = count_records(path)
        tag = hashlib.sha1(str(path).encode()).hexdigest()[:8]
        for start in range(0, n, block_size):
            blocks.append({"block": f"{path.stem}-{tag}-{start:09d}", "path": str(path),
                           "format": FORMATS[path.suffix], "start": start, "end": min(n, start + block_size)})
    return blocks


def shard_path(out: Path, block: str, fmt: str) -> Path:
    return out / f"{block}.{fmt}"


# ---- stage 1: read and split (Ray tasks) -------------------------------------------------------

def read_records(spec: dict) -> list[tuple[int, object]]:
    """(line or row number from 1, raw record) for the block: bytes for JSONL, a dict for Parquet."""
    start, end = spec["start"], spec["end"]
    if spec["format"] == "parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(spec["path"]).slice(start, end - start).to_pylist()
        return [(start + i + 1, r) for i, r in enumerate(rows)]
    with open(spec["path"], "rb") as f:
        lines = f.read().split(b"\n")
    return [(start + i + 1, line) for i, line in enumerate(lines[start:end])]


def parse_article(raw, stem: str, n: int) -> tuple[str, str, dict]:
    """(doc id, text, other fields) of one record, or ValueError with the reason it is rejected."""
    if isinstance(raw, bytes):
        if not raw.strip():
            raise ValueError("empty line")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})") from None
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"not JSON ({e.msg})") from None
    if not isinstance(raw, dict):
        raise ValueError("not an object with a \"text\" field")
    if "text" not in raw or raw["text"] is None:
        raise ValueError("no \"text\" field")
    if not isinstance(raw["text"], str):
        raise ValueError(f"\"text\" is a {type(raw['text']).__name__}, not a string")
    if not raw["text"].strip():
        raise ValueError("\"text\" is empty")
    # The same id as `tasrih classify` gives a JSONL line without one: file name and line number.
    doc = str(raw["id"]) if raw.get("id") is not None else f"{stem}:{n}"
    extra = {k: v for k, v in raw.items() if k not in ("id", "text")}
    return doc, raw["text"], extra


def read_block(batch: dict) -> dict:
    """Ray Data map_batches function: one block spec in, one row with its articles' sentences out."""
    from infer.text import split_sentences

    out = {"block": [], "spec": [], "articles": [], "rejects": []}
    for spec_json in batch["spec"]:
        spec = json.loads(spec_json)
        stem = Path(spec["path"]).stem
        articles, rejects = [], []
        for n, raw in read_records(spec):
            try:
                doc, text, extra = parse_article(raw, stem, n)
            except ValueError as e:
                if raw == b"" and n == spec["end"]:
                    continue  # the empty string after a final newline is no record
                rejects.append({"file": spec["path"], "line": n, "reason": str(e)})
                continue
            articles.append({"doc": doc, "sentences": [p.text for p in split_sentences(text)], "extra": extra})
        out["block"].append(spec["block"])
        out["spec"].append(spec_json)
        out["articles"].append(json.dumps(articles, ensure_ascii=False))
        out["rejects"].append(json.dumps(rejects, ensure_ascii=False))
    return out


# ---- stage 2: classify and write (a pool of Ray actors) ---------------------------------------

def output_row(row: dict, extra: dict) -> dict:
    """A classify row plus the article's other fields (renamed article_<name> where a name is taken)."""
    for k, v in extra.items():
        row["article_" + k if k in ROW_FIELDS else k] = v
    return row


def write_atomic(path: Path, write) -> None:
    """Write through ``write(file)`` to a temporary name beside ``path``, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_rows(path: Path, rows: list[dict], fmt: str) -> None:
    if fmt == "jsonl":
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
        write_atomic(path, lambda f: f.write(data))
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=row_schema(rows))
    write_atomic(path, lambda f: pq.write_table(table, f))


def row_schema(rows: list[dict]):
    """The classify fields with fixed types (a shard whose rows have no actor still has the column's
    type), and the article's other fields as pyarrow infers them."""
    import pyarrow as pa

    span = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("text", pa.string())])
    fixed = {"doc": pa.string(), "sentence_index": pa.int64(), "text": pa.string(), "label": pa.string(),
             "scores": pa.struct([(k, pa.float64()) for k in ("none", "accusation", "denial", "agreement", "demand")]),
             "also": pa.list_(pa.string()), "actor": span, "actor_resolved": pa.string(), "actor_code": pa.string(),
             "target": span, "windows": pa.int64(), "low_confidence": pa.bool_()}
    names = list(dict.fromkeys(k for r in rows for k in r))
    inferred = pa.Table.from_pylist([{k: r.get(k) for k in names if k not in fixed} for r in rows]).schema \
        if any(k not in fixed for k in names) else pa.schema([])
    return pa.schema([pa.field(k, fixed[k]) if k in fixed else inferred.field(k) for k in names])


class ClassifyBlock:
    """Ray Data callable class: each actor loads the model once and classifies whole blocks.

    ``bind`` makes a subclass that carries the job's settings, so Ray ships them with the class and an
    actor restarted after a node failure needs nothing from the object store.
    """

    settings: dict = {}

    @classmethod
    def bind(cls, **settings) -> type:
        return type("ClassifyBlock", (cls,), {"settings": settings})

    def __init__(self):
        self.setup(**self.settings)

    def setup(self, model: str | None, backend: str, batch_size: int, out: str, fmt: str,
              min_confidence: float | None, threads: int):
        os.environ.setdefault("TASRIH_THREADS", str(threads))  # one ONNX Runtime thread per core the actor holds
        from infer.predict import Tasrih

        self.model = Tasrih.from_pretrained(model, backend=backend)
        self.batch_size, self.out, self.fmt, self.min_confidence = batch_size, Path(out), fmt, min_confidence

    def __call__(self, batch: dict) -> dict:
        import resource

        result = {"block": [], "articles": [], "sentences": [], "rejects": [], "peak_rss_mb": []}
        for block, articles_json, rejects_json in zip(batch["block"], batch["articles"], batch["rejects"]):
            articles, rejects = json.loads(articles_json), json.loads(rejects_json)
            rows = []
            for a in articles:
                # classify_sentences on the split sentences is what `tasrih classify` runs per article:
                # the same batches, so the same numbers.
                for row in self.model.classify_sentences(a["sentences"], doc=a["doc"], batch_size=self.batch_size):
                    if self.min_confidence is not None:
                        row["low_confidence"] = row["scores"][row["label"]] < self.min_confidence
                    rows.append(output_row(row, a["extra"]))
            # The rejects first, the shard last: a shard that exists means its block is wholly done.
            reject_file = self.out / REJECTS / f"{block}.jsonl"
            data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rejects).encode("utf-8")
            write_atomic(reject_file, lambda f: f.write(data))
            write_rows(shard_path(self.out, block, self.fmt), rows, self.fmt)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # this actor's process, in MiB
            for k, v in (("block", block), ("articles", len(articles)), ("sentences", len(rows)),
                         ("rejects", len(rejects)), ("peak_rss_mb", round(peak, 1))):
                result[k].append(v)
        return result


# ---- the job ------------------------------------------------------------------------------------

def start_ray(address: str | None):
    import logging

    import ray

    # Ray's own INFO lines (execution plans, dataset names) would bury the progress bar.
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    if address:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    else:
        ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    return ray


def run_corpus(inputs: list[str], out: Path, fmt: str = "parquet", ray_address: str | None = None,
               actors: int = 1, cpus_per_actor: float = 1.0, batch_size: int = 32, block_size: int = 200,
               model: str | None = None, backend: str = "auto", min_confidence: float | None = None,
               progress: bool = True) -> dict:
    """Classify every article of ``inputs`` into shards under ``out``; return the job's summary."""
    files = list_inputs(inputs)
    out.mkdir(parents=True, exist_ok=True)
    (out / REJECTS).mkdir(exist_ok=True)
    blocks = plan_blocks(files, block_size)
    todo = [b for b in blocks if not shard_path(out, b["block"], fmt).exists()]
    skipped = len(blocks) - len(todo)
    started = time.time()
    done = {"articles": 0, "sentences": 0, "rejects": 0, "actor_peak_rss_mb": 0.0}
    if todo:
        ray = start_ray(ray_address)
        try:
            run_blocks(ray, todo, out, fmt, actors, cpus_per_actor, batch_size, model, backend, min_confidence,
                       progress, done)
        finally:
            ray.shutdown()
    missing = [b["block"] for b in blocks if not shard_path(out, b["block"], fmt).exists()]
    if missing:
        raise CorpusError(f"{len(missing)} blocks have no shard (e.g. {missing[0]}); run the same command again "
                          f"to finish them")
    summary = {"files": len(files), "blocks": len(blocks), "blocks_skipped": skipped, **done,
               "seconds": round(time.time() - started, 2), "format": fmt, "out": str(out)}
    summary["rejects_total"] = merge_rejects(out, blocks)
    (out / "_SUMMARY.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def run_blocks(ray, todo, out, fmt, actors, cpus_per_actor, batch_size, model, backend, min_confidence,
               progress, done) -> None:
    import logging

    import ray.data
    from tqdm.auto import tqdm

    for name in ("ray.data", "ray.data._internal.execution.streaming_executor"):
        logging.getLogger(name).setLevel(logging.ERROR)

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # one bar of our own: articles and sentences per second
    ds = ray.data.from_items([{"spec": json.dumps(b)} for b in todo], override_num_blocks=len(todo))
    # No CPU reserved: the actors may hold every CPU of the cluster, and reading and splitting a block is
    # light next to classifying it. A pool as large as the actors' keeps them fed; without a bound, Ray
    # starts a worker process for every zero-CPU task it can.
    ds = ds.map_batches(read_block, batch_size=1, num_cpus=0, compute=ray.data.TaskPoolStrategy(size=actors))
    classify = ClassifyBlock.bind(model=model, backend=backend, batch_size=batch_size, out=str(out), fmt=fmt,
                                  min_confidence=min_confidence, threads=max(1, int(cpus_per_actor)))
    # SPREAD: the model actors go to different nodes where they can, so a cluster's nodes share the work
    # (and losing one node loses as few actors as possible).
    ds = ds.map_batches(classify, batch_size=1, compute=ray.data.ActorPoolStrategy(size=actors),
                        num_cpus=cpus_per_actor, scheduling_strategy="SPREAD")
    bar = tqdm(total=len(todo), unit="block", desc="classify-corpus", disable=None, file=sys.stderr)
    t0 = time.time()
    for row in ds.iter_rows():
        for k in ("articles", "sentences", "rejects"):
            done[k] += int(row[k])
        done["actor_peak_rss_mb"] = max(done["actor_peak_rss_mb"], float(row["peak_rss_mb"]))
        elapsed = max(1e-9, time.time() - t0)
        bar.update(1)
        bar.set_postfix_str(f"{done['articles'] / elapsed:.1f} articles/s, {done['sentences'] / elapsed:.1f} sentences/s")
    bar.close()


def merge_rejects(out: Path, blocks: list[dict]) -> int:
    """rejects.jsonl: every block's rejected articles, in input order."""
    lines = []
    for b in blocks:
        f = out / REJECTS / f"{b['block']}.jsonl"
        if f.exists():
            lines += [line for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    write_atomic(out / "rejects.jsonl", lambda f: f.write("".join(line + "\n" for line in lines).encode("utf-8")))
    return len(lines)


# ---- command line ------------------------------------------------------------------------------

def add_corpus_parser(sub) -> None:
    import argparse

    p = sub.add_parser(
        "classify-corpus", help="classify a whole news archive on Ray (shards of JSONL or Parquet out)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Classify every article of a news archive on Ray Data: blocks of articles are read and split "
                    "into sentences by Ray tasks and classified by a pool of Ray actors, each holding one loaded "
                    "model. Each block becomes one shard in --out, written atomically and named by the block, so "
                    "rerunning the same command after a failure or a kill finishes only what is missing. Bad "
                    "articles (not UTF-8, not JSON, no or empty text) go to --out/rejects.jsonl with the reason.",
        epilog="input:\n  JSONL or Parquet files of articles: {\"id\", \"text\", ...} (other fields are kept in every\n"
               "  sentence row); files, folders (their .jsonl, .json, .parquet files) or glob patterns\n"
               "output (--out DIR):\n  one shard per block (<file>-<hash>-<first record>.parquet or .jsonl), one row per\n"
               "  sentence with the fields of `tasrih classify` (doc, sentence_index, ...), rejects.jsonl,\n"
               "  _SUMMARY.json\n"
               "examples:\n  tasrih classify-corpus archive/*.jsonl --out labels/ --actors 2\n"
               "  tasrih classify-corpus s3-mirror/ --out /shared/labels --ray auto --actors 16\n"
               "needs the 'scale' extra: pip install 'tasrih[scale]'")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders or glob patterns of articles")
    p.add_argument("--out", required=True, help="output folder (shared by every node on a cluster)")
    p.add_argument("--format", choices=["parquet", "jsonl"], default="parquet", help="shard format (default parquet)")
    p.add_argument("--ray", metavar="ADDRESS",
                   help="join this Ray cluster (auto: the one `ray start` runs here); default: start a local Ray")
    p.add_argument("--actors", type=int, default=1, help="model actors in the pool (default 1)")
    p.add_argument("--cpus-per-actor", type=float, default=1.0,
                   help="CPUs each actor reserves; also its ONNX Runtime threads (default 1)")
    p.add_argument("--batch-size", type=int, default=32, help="sentences per forward pass (default 32)")
    p.add_argument("--block-size", type=int, default=200, help="articles per block and shard (default 200)")
    p.add_argument("--model", help="model directory (default: the model that ships with tasrih)")
    p.add_argument("--backend", default="auto", help="as in `tasrih classify` (default auto)")
    p.add_argument("--min-confidence", type=float, metavar="P", help="mark rows below P as low_confidence")
    p.set_defaults(func=run_corpus_command)


def run_corpus_command(args) -> int:
    from infer.cli import InputError

    for name in ("actors", "batch_size", "block_size"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be 1 or more, got {getattr(args, name)}")
    if args.cpus_per_actor <= 0:
        raise InputError(f"--cpus-per-actor must be above 0, got {args.cpus_per_actor}")
    if args.min_confidence is not None and not 0 <= args.min_confidence <= 1:
        raise InputError(f"--min-confidence must be between 0 and 1, got {args.min_confidence}")
    import pyarrow  # noqa: F401  (the scale extra: say so before any work)
    import ray  # noqa: F401

    from infer.predict import DEFAULT_MODEL, ModelLoadError, check_model

    try:
        check_model(Path(args.model) if args.model else DEFAULT_MODEL, args.backend)  # a bad model directory is refused here, not in every actor
    except ModelLoadError as e:
        raise InputError(str(e)) from None
    try:
        summary = run_corpus(args.inputs, Path(args.out), fmt=args.format, ray_address=args.ray, actors=args.actors,
                             cpus_per_actor=args.cpus_per_actor, batch_size=args.batch_size,
                             block_size=args.block_size, model=args.model, backend=args.backend,
                             min_confidence=args.min_confidence)
    except CorpusError as e:
        raise InputError(str(e)) from None
    print(f"{summary['articles']} articles, {summary['sentences']} sentences, {summary['rejects']} rejected "
          f"({summary['blocks'] - summary['blocks_skipped']} blocks classified, {summary['blocks_skipped']} already "
          f"done) in {summary['seconds']:.1f} s -> {summary['out']}", file=sys.stderr)
    return 0
