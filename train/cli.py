"""The `tasrih` command. Each subcommand's --help says what it reads and writes."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from infer.cli import InputError, add_classify_parser, add_export_parser
from infer.server import add_serve_parser
from train.labelstudio import add_parsers as add_labelstudio_parsers

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"

TRAIN_HELP = """\
usage: tasrih train [OVERRIDE ...] [-m]

Train a model with the Hydra configuration in conf/ and evaluate it.

  OVERRIDE   key=value, e.g. model=tiny trainer.lr=3e-5 trainer.max_steps=100
             groups: model=arabert|tiny|tiny_mlm|small|baseline  trainer=default|cpu_fast
                     data=default  experiment=smoke|tiny_cpu|default_model
  -m         sweep: tasrih train -m seed=1,2,3 (one run per value)
  --cfg job  print the composed configuration and exit

A run leaves outputs/<name>/<timestamp>/ (or output_dir=DIR) (multirun/... for sweeps): the saved
model (safetensors, tokenizer, README model card), config.yaml, metrics.json,
report.md, confusion_matrix.png and predictions.jsonl of the first evaluated split.
The default model is AraBERT (needs the Hugging Face hub once); model=tiny builds
a local BERT offline. Uses CUDA with mixed precision when present, else the CPU.
"""


def run_train(argv: list[str]) -> int:
    import hydra

    from infer.predict import ModelLoadError
    from train.config import register
    from train.data import DataError
    from train.loop import train

    if any(a in ("-h", "--help") for a in argv):
        print(TRAIN_HELP)
        return 0
    register()

    # conf/ sits beside the train package (editable install); Hydra wants an absolute directory here.
    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
    def _main(cfg):
        try:
            metrics = train(cfg)
        except (DataError, ModelLoadError) as e:
            # Bad data or a bad model directory is the user's to fix: say what, not where in our code.
            print(f"tasrih: error: {e}", file=sys.stderr)
            sys.exit(2)
        from hydra.core.hydra_config import HydraConfig

        scores = "  ".join(f"{k} {v:.3f}" for k, v in metrics.items() if k != "train_steps")
        print(f"{scores}\nrun directory: {HydraConfig.get().runtime.output_dir}")
        return metrics

    sys.argv = ["tasrih train", *argv]
    _main()
    return 0


def run_evaluate(args) -> int:
    from infer.predict import ModelLoadError, Tasrih
    from train.data import DataError, load
    from train.evaluate import evaluate_splits

    try:
        model = Tasrih.from_pretrained(args.model, device=args.device)
    except ModelLoadError as e:
        raise InputError(str(e)) from None
    splits = {}
    for f in args.data:
        try:
            splits[Path(f).stem] = (Path(f), load([Path(f)]))
        except DataError as e:
            raise InputError(str(e)) from None
    out = Path(args.out)
    metrics = evaluate_splits(model, splits, out, title=f"tasrih {model.name}", batch_size=args.batch_size)
    for name, m in metrics["splits"].items():
        print(f"{name}: macro-F1 {m['macro_f1']:.3f}  accuracy {m['accuracy']:.3f}  "
              f"actor exact F1 {m['actor']['exact']['f1']:.3f}  target exact F1 {m['target']['exact']['f1']:.3f}"
              f"  ({m['n_examples']} sentences)")
    print(f"wrote metrics.json, report.md, confusion_matrix.png and predictions.jsonl to {out}")
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
        print(f"{path}: {len(records)} valid records, {len(problems)} problems  {dict(sorted(counts.items()))}",
              file=sys.stderr)
    return 1 if bad else 0


def run_build_local_model(args) -> int:
    from train.local_model import build_local_model

    if args.mlm_steps:
        from train.pretrain import pretrain

        out = pretrain(args.size, Path(args.out), text=Path(args.text), steps=args.mlm_steps, seed=args.seed)
    else:
        out = build_local_model(args.size, Path(args.out), text=Path(args.text), seed=args.seed)
    print(f"wrote the local {args.size} BERT to {out}")
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
                                   "report.md, confusion_matrix.png and predictions.jsonl (first file) to --out.")
    e.add_argument("--model", help="model directory (default: the shipped model)")
    e.add_argument("--data", nargs="+", required=True, help="dataset files in the ANNOTATION.md format")
    e.add_argument("--out", default="eval", help="output directory (default ./eval)")
    e.add_argument("--batch-size", type=int, default=64)
    e.add_argument("--device", default="auto")
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

    add_serve_parser(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("transformers", "httpx", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    if argv and argv[0] == "train":
        return run_train(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
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
