"""`tasrih classify`: the command-line face of the inference module."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from infer.text import lone_surrogate


class InputError(Exception):
    """Input that cannot be classified; the message says what to fix."""


def plural(n: int, word: str) -> str:
    """"1 record", "2 records"."""
    return f"{n} {word}" + ("" if n == 1 else "s")


ARABIC_LETTER = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u0870-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")


def is_arabic(text: str) -> bool | None:
    """Whether at least half the letters of ``text`` are Arabic script; None when it has no letters."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    return 2 * sum(1 for c in letters if ARABIC_LETTER.match(c)) >= len(letters)


def is_baseline_dir(path: Path) -> bool:
    """Whether ``path`` holds the classical baseline (TF-IDF + CRF), which has no network to export or
    to run on another backend. Reads config.json only; a broken directory is the loader's to report."""
    from infer.predictor import BASELINE_TYPE, model_type

    return model_type(path) == BASELINE_TYPE


def decode_input(raw: bytes, name: str) -> str:
    for bom, enc in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                     (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if raw.startswith(bom):  # text, but not in the encoding we read: say which, not "binary"
            raise InputError(f"{name}: {enc} text, not UTF-8; convert it with `iconv -f {enc} -t UTF-8`")
    if b"\x00" in raw:
        raise InputError(f"{name}: binary data (NUL bytes), not text; give a UTF-8 text or JSONL file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{name}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
                         f"convert it with `iconv -t UTF-8`") from None
    if not text.strip():
        raise InputError(f"{name}: {'empty' if not text else 'only whitespace'}, nothing to classify")
    return text


def release_freed_memory() -> None:
    """Have glibc hand freed tensor memory back to the system at once, so a long input runs in flat memory.

    The tensors of a batch are freed after it, but glibc's malloc raises its mmap threshold after such
    frees and from then on keeps blocks of that size in the heap, where batch shapes that vary from one
    batch to the next fragment it: without this, `tasrih classify` grew by some 150 MiB over a
    200,000-word article (bench/long_article.py, docs/robustness.md). A fixed threshold of 256 KiB keeps
    the peak flat, for some 10-20% of time on the tiny model. A no-op where malloc is not glibc's.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-3, 256 * 1024)  # M_MMAP_THRESHOLD; also turns the dynamic threshold off
    except (OSError, AttributeError):
        pass


def read_source(src: str) -> list[tuple[str, str, bytes]]:
    """(name, doc id, raw bytes) per input file: '-' is stdin, a folder gives its .txt and .jsonl files."""
    if src == "-":
        return [("<stdin>", "stdin", sys.stdin.buffer.read())]
    path = Path(src)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".txt", ".jsonl") and p.is_file())
        if not files:
            raise InputError(f"{path}: no .txt or .jsonl files in this folder")
        return [(str(p), p.stem, p.read_bytes()) for p in files]
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    return [(str(path), path.stem, path.read_bytes())]


def iter_documents(name: str, doc: str, text: str, jsonl: bool, skip_bad: bool,
                   warn) -> Iterator[tuple[str, str]]:
    """(doc id, article text) pairs; a JSONL of articles has one {"id", "text"} object a line."""
    if not jsonl:
        yield doc, text
        return
    # Lines end at \n, \r\n or \r (which a JSON string cannot hold raw), not at U+2028, U+0085 and the
    # other breaks of str.splitlines(), which may stand unescaped inside a JSON string.
    for n, line in enumerate(re.split(r"\r\n|\r|\n", text), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise ValueError('each line must be an object with a string "text"')
            if not obj["text"].strip():
                raise ValueError('"text" is empty')
            doc_id = str(obj.get("id", f"{doc}:{n}"))
            for key, value in (("text", obj["text"]), ("id", doc_id)):
                pos = lone_surrogate(value)
                if pos is not None:  # a JSON escape such as \ud800: not text, and not writable as UTF-8
                    raise ValueError(f'"{key}" holds a lone surrogate \\u{ord(value[pos]):04x} at character {pos}')
            yield doc_id, obj["text"]
        except (json.JSONDecodeError, ValueError) as e:
            msg = f"{name}:{n}: {e.msg if isinstance(e, json.JSONDecodeError) else e}"
            if not skip_bad:
                raise InputError(msg + " (use --skip-bad to report bad lines and go on)") from None
            warn(f"skipped {msg}")


def validate_jsonl(name: str, text: str, skip_bad: bool, warn) -> None:
    """Check every line before any output is written, so a bad line never leaves partial output."""
    for _ in iter_documents(name, name, text, True, skip_bad, warn):
        pass


def clip(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters: cut at the last word boundary that fits, ending in "…"."""
    if len(text) <= width:
        return text
    cut = text[:width - 1]
    space = cut.rfind(" ")
    # Keep the cut where a word ends there; a single word longer than the column is cut inside it.
    if not text[width - 1].isspace() and space > 0:
        cut = cut[:space]
    return cut.rstrip() + "…"


def format_table(rows: list[dict], min_conf: float | None, whole: bool = False) -> str:
    """The rows as a table for a terminal: long cells cut at a word boundary with "…". ``whole`` (for a
    file) keeps every cell whole and widens the columns to the longest one instead."""
    several = len({r["doc"] for r in rows}) > 1  # several articles: say which one each row belongs to
    cells = []
    for r in rows:
        actor = (r["actor"] or {}).get("text") or (f"({r['actor_resolved']})" if r["actor_resolved"] else "-")
        cells.append((r["doc"], actor, (r["target"] or {}).get("text") or "-"))
    fit = (lambda s, w: s) if whole else clip
    doc_w, actor_w, target_w = 16, 28, 28
    if whole and cells:
        doc_w, actor_w, target_w = (max(w, *(len(c[i]) for c in cells)) for i, w in enumerate((16, 28, 28)))
    head = f"{'#':>3}  {'label':<11} {'conf':>5}  {'actor':<{actor_w}} {'target':<{target_w}} text"
    out = [("doc".ljust(doc_w + 1) if several else "") + head]
    for r, (doc, actor, target) in zip(rows, cells):
        conf = r["scores"][r["label"]]
        flag = "?" if min_conf is not None and conf < min_conf else " "
        also = f" +{','.join(r['also'])}" if r["also"] else ""
        out.append((f"{fit(doc, doc_w):<{doc_w + 1}}" if several else "")
                   + f"{r['sentence_index']:>3}  {r['label'] + also:<11} {conf:5.2f}{flag} "
                   f"{fit(actor, actor_w):<{actor_w}} {fit(target, target_w):<{target_w}} {fit(' '.join(r['text'].split()), 70)}")
    return "\n".join(out)


def add_classify_parser(sub) -> None:
    p = sub.add_parser(
        "classify", help="label every sentence of articles (JSON Lines out)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Split articles into sentences and label each one as accusation, denial, agreement, "
                    "demand or none, with the actor who makes the claim and its target.",
        epilog="input:\n  FILE        a UTF-8 article (.txt), or a JSONL of articles ({\"id\", \"text\"} a line)\n"
               "  DIR         every .txt and .jsonl file in it\n  -           standard input (the default)\n"
               "output:\n  one JSON object per sentence: doc, sentence_index, text, label, scores, also,\n"
               "  actor, actor_resolved, actor_code, target (spans as {start, end, text}).\n"
               "examples:\n  tasrih classify seeds/000_17ba21f3bbc6b9cb.txt --format table\n"
               "  tasrih classify articles.jsonl -o labels.jsonl")
    p.add_argument("input", nargs="?", default="-", help="file, folder or - for stdin (default -)")
    p.add_argument("--model", help="model directory (default: the model that ships with tasrih)")
    p.add_argument("--sentences", action="store_true", help="input is one sentence a line (no splitting)")
    p.add_argument("--jsonl", action="store_true", help="input is JSONL of articles even without .jsonl suffix")
    p.add_argument("--format", choices=["jsonl", "table"], default="jsonl", help="output format (default jsonl)")
    p.add_argument("-o", "--output", help="write here instead of stdout (written whole or not at all)")
    p.add_argument("--min-confidence", type=float, metavar="P",
                   help="mark predictions whose label probability is below P as low_confidence")
    p.add_argument("--skip-bad", action="store_true", help="report bad JSONL lines and classify the rest")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    p.add_argument("--backend", default="auto",
                   help="how a transformer model runs: auto (the default: the int8 ONNX graph when the model "
                        "directory has one, as the shipped model does, else torch), torch (float32), int8 (ONNX "
                        "Runtime int8; needs `tasrih export --int8` first), onnx-int8, onnx or torch-int8: see "
                        "docs/speed.md. The classical baseline (model=baseline) runs as it is")
    p.set_defaults(func=run_classify)


def run_classify(args) -> int:
    warn = lambda m: print(f"tasrih: {m}", file=sys.stderr)
    if args.min_confidence is not None and not 0 <= args.min_confidence <= 1:
        raise InputError(f"--min-confidence must be between 0 and 1, got {args.min_confidence}")
    if args.output:  # now, not after the model has classified everything
        out = Path(args.output)
        if out.is_dir():
            raise InputError(f"{args.output}: is a directory; give -o a file name")
        if not out.parent.is_dir():
            raise InputError(f"{args.output}: no such directory: {out.parent}")
    inputs = []
    for name, doc, raw in read_source(args.input):
        text = decode_input(raw, name)
        jsonl = args.jsonl or name.endswith(".jsonl")
        if jsonl:
            validate_jsonl(name, text, args.skip_bad, warn)
        inputs.append((name, doc, text, jsonl))
    release_freed_memory()
    # Imported only now: bad input is refused in a fraction of a second, before torch loads.
    from infer.predict import ModelLoadError, Tasrih

    try:
        model = Tasrih.from_pretrained(args.model, device=args.device, backend=args.backend)
    except ModelLoadError as e:
        raise InputError(str(e)) from None

    def rows() -> Iterator[dict]:
        for name, doc, text, jsonl in inputs:
            arabic = Counter()  # sentences by is_arabic: True, False, None (no letters)
            yield from input_rows(name, doc, text, jsonl, arabic)
            if arabic[False] > arabic[True]:  # once per input, not once per sentence
                warn(f"{name}: most sentences ({arabic[False]} of {arabic[True] + arabic[False]}) are not in Arabic "
                     f"script; tasrih is trained on Arabic news only, so its labels for them mean little")

    def input_rows(name, doc, text, jsonl, arabic) -> Iterator[dict]:
        for doc_id, article in iter_documents(name, doc, text, jsonl, True, lambda m: None):
            if args.sentences:
                lines = [s.strip() for s in article.splitlines() if s.strip()]
                it = model.classify_sentences(lines, doc=doc_id, batch_size=args.batch_size)
            else:
                it = model.classify_text(article, doc=doc_id, batch_size=args.batch_size)
            for row in it:
                arabic[is_arabic(row["text"])] += 1
                if args.min_confidence is not None:
                    row["low_confidence"] = row["scores"][row["label"]] < args.min_confidence
                if row["windows"] > 1:
                    warn(f"{doc_id} sentence {row['sentence_index']}: longer than the model's window, "
                         f"read in {row['windows']} windows")
                yield row

    write_output(args, rows())
    return 0


def write_output(args, rows: Iterator[dict]) -> None:
    """Stream JSONL to stdout; a file given with -o is written to a temporary name, then renamed."""
    if args.output:
        out_path = Path(args.output)
        try:
            fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.")
        except OSError as e:  # say which file, not the temporary name beside it
            where = "no such directory: " + str(out_path.parent) if isinstance(e, FileNotFoundError) else \
                f"cannot write ({e.strerror})"
            raise InputError(f"{args.output}: {where}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                emit(f, args, rows, whole=True)
            os.replace(tmp, out_path)
        except BaseException:
            os.unlink(tmp)
            raise
    else:
        emit(sys.stdout, args, rows)


def emit(f, args, rows: Iterator[dict], whole: bool = False) -> None:
    """Write the rows; ``whole``: into a file, where a table keeps every cell whole."""
    if args.format == "table":
        f.write(format_table(list(rows), args.min_confidence, whole=whole) + "\n")
        return
    for row in rows:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")


def add_export_parser(sub) -> None:
    p = sub.add_parser(
        "export", help="export a model for fast CPU inference (ONNX, int8)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Export a trained model to ONNX with dynamic batch and length axes, fuse its BERT "
                    "operators for ONNX Runtime, and with --int8 quantise its weights to int8 (dynamic "
                    "quantisation). Writes model.int8.onnx (--int8) or model.onnx into the model "
                    "directory, or into --out together with a copy of the model's config, tokenizer and "
                    "weights. Only .onnx, .json, .txt, .md and .safetensors files are written, never pickles.",
        epilog="examples:\n  tasrih export --model outputs/run --int8\n"
               "  tasrih classify article.txt --model outputs/run --backend int8\n"
               "  tasrih export --model outputs/e5 --fp16-weights --out shipped --no-weights \\\n"
               "      --ngram-labels outputs/baseline --calibrate data/dev.jsonl   # how the shipped model is built\n"
               "backends: torch (float32), int8 (= onnx-int8), onnx-int8, onnx, torch-int8 "
               "(quantised at load time, needs no export); see docs/speed.md")
    p.add_argument("--model", help="model directory (default: the model that ships with tasrih)")
    p.add_argument("--int8", action="store_true", help="quantise to int8 (model.int8.onnx); else float32 model.onnx")
    p.add_argument("--out", help="write here instead of into the model directory")
    p.add_argument("--per-tensor", action="store_true",
                   help="one int8 scale per weight matrix instead of one per output channel (the default, "
                        "which agrees more often with float32 at the same speed)")
    p.add_argument("--fp16-weights", action="store_true",
                   help="without --int8: store the float32 graph's weights in float16 (half the size; it still "
                        "computes in float32, so its predictions are the float32 model's)")
    p.add_argument("--no-weights", action="store_true",
                   help="with --out: leave model.safetensors behind, so --out holds the ONNX-only form that ships "
                        "(runs on onnxruntime + tokenizers + numpy, no torch)")
    p.add_argument("--ngram-labels", metavar="BASELINE_DIR",
                   help="average the label probabilities with those of a classical baseline (`tasrih train "
                        "model=baseline`), converted to arrays that run on numpy: the e5_small+baseline winner "
                        "of bench/quality.py (needs scikit-learn and skops to convert, not to run)")
    p.add_argument("--ngram-weight", type=float, default=0.5,
                   help="the baseline's share of the label probabilities with --ngram-labels (default 0.5: the mean)")
    p.add_argument("--calibrate", metavar="FILE",
                   help="an annotated JSONL file (data/dev.jsonl) to fit the exported model's span thresholds on "
                        "(spans it is unsure of are dropped), and with --ngram-labels the temperature of the "
                        "averaged label probabilities, so that the scores stay calibrated")
    p.set_defaults(func=run_export)


def check_ngram_args(baseline: Path, weight: float) -> None:
    if not is_baseline_dir(baseline):
        raise InputError(f"{baseline}: --ngram-labels needs a classical baseline directory "
                         f"(`tasrih train model=baseline`), with config.json and label_model.skops")
    if not 0 < weight <= 1:
        raise InputError(f"--ngram-weight is {weight}: give a share between 0 (excluded) and 1")


def run_export(args) -> int:
    from infer.fast import export  # torch and ONNX only when exporting: `tasrih --help` stays fast
    from infer.predict import DEFAULT_MODEL, ModelLoadError

    model_dir = Path(args.model) if args.model else DEFAULT_MODEL
    if is_baseline_dir(model_dir):  # before anything is written: no --out folder, no partial copy
        raise InputError(f"{model_dir}: the classical baseline is not a transformer model: it runs as it is, "
                         f"there is nothing to export")
    graphs = [g for g in ("model.onnx", "model.int8.onnx") if (model_dir / g).is_file()]
    if graphs and not (model_dir / "model.safetensors").is_file():
        raise InputError(f"{model_dir}: already exported ({graphs[0]}) and holds no model.safetensors to "
                         f"export again; export the training run it came from")
    try:
        if args.no_weights and not args.out:
            raise InputError("--no-weights needs --out DIR: the model directory keeps its weights")
        if args.fp16_weights and args.int8:
            raise InputError("--fp16-weights is for the float32 graph: leave out --int8")
        if args.ngram_labels is not None:
            check_ngram_args(Path(args.ngram_labels), args.ngram_weight)
        if args.calibrate is not None and not Path(args.calibrate).is_file():
            raise InputError(f"--calibrate {args.calibrate}: no such file; give an annotated JSONL file "
                             f"(data/dev.jsonl)")
        path = export(model_dir, args.out, int8=args.int8, per_channel=not args.per_tensor,
                      weights=not args.no_weights, fp16_weights=args.fp16_weights,
                      ngram_labels=args.ngram_labels, ngram_weight=args.ngram_weight, calibrate_on=args.calibrate)
    except ModelLoadError as e:
        raise InputError(str(e)) from None
    except ImportError as e:
        raise InputError(f"export needs onnx and onnxruntime ({e}): pip install onnx onnxruntime") from None
    except OSError as e:  # a read-only model directory, a full disk
        where = e.filename or args.out or model_dir
        raise InputError(f"{where}: cannot write ({e.strerror or e}); choose another place with --out DIR") from None
    backend = "int8" if args.int8 else "onnx"
    use = f"tasrih classify --model {path.parent}" + ("" if args.no_weights else f" --backend {backend}")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); use it with `{use}`", file=sys.stderr)
    return 0
