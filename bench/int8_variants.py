"""Which operators can be quantised to int8 without changing the answers: agreement and speed per variant.

    python bench/int8_variants.py --model bench/runs/e5_small           # every variant, data/test.jsonl
    python bench/int8_variants.py --model DIR --variants all no_heads --limit 500

Dynamic int8 quantisation of the whole e5-small graph agrees with float32 on only 94% of the labels
(docs/speed.md). This exports the trained model once to the fused float32 ONNX graph (the
reference), quantises it once per variant, each variant leaving a different set of operators in
float32 (`quantize_dynamic(nodes_to_exclude=...)`), and compares every variant's labels and spans
with the reference's on the same sentences, and its time with the reference's, measured in turns
in the same run. Writes bench/results/int8_variants.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# name -> (what it leaves in float32, regex over node names of the quantisable operators)
HEADS = r"/model/(?!bert/).*"
EMBED = r"EmbedLayerNormalization_\d+|/model/bert/embeddings/.*"
BLOCKWISE = "blockwise"  # a marker, not a node pattern: see quantise_blockwise
VARIANTS = {
    "all": ("nothing: every Attention, MatMul and the embeddings (what `tasrih export --int8` does)", None),
    "no_heads": ("the span head", HEADS),
    "no_embed": ("the span head and the embeddings", f"{HEADS}|{EMBED}"),
    "no_ffn_out": ("the span head, the embeddings and every feed-forward output projection",
                   rf"{HEADS}|{EMBED}|.*layer\.\d+/output/dense/MatMul"),
    "no_attention": ("the span head, the embeddings and the fused attention (its input projections)",
                     rf"{HEADS}|{EMBED}|Attention_\d+"),
    "no_first_last": ("the span head, the embeddings and layers 0 and 11",
                      rf"{HEADS}|{EMBED}|.*layer\.(0|11)/.*|Attention_(0|11)"),
    "attention_only": ("everything but the fused attention", r"(?!Attention_).*"),
    # Not dynamic quantisation: 8-bit weights in blocks of 128 with the activations quantised per token
    # and block (ONNX Runtime's MatMulNBits at accuracy level 4), so an outlier channel spoils one block
    # of one token instead of the whole batch's scale. The fused attention stays float32.
    "blockwise8": ("the fused attention; every MatMul 8-bit block-wise (MatMulNBits), not dynamic", BLOCKWISE),
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def quantisable(graph) -> list[str]:
    return [n.name for n in graph.graph.node if n.op_type in ("Attention", "MatMul", "EmbedLayerNormalization",
                                                              "Gather")]


def quantise(fp32: Path, out: Path, exclude: list[str]) -> None:
    from infer.fast import quantise_dynamic

    quantise_dynamic(fp32, out, exclude=exclude)
    copy_metadata(fp32, out)


def quantise_blockwise(fp32: Path, out: Path, block: int = 128) -> None:
    """Every MatMul with a constant weight as MatMulNBits: 8-bit symmetric weight blocks, int8 compute."""
    import logging

    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)  # a line per node

    cfg = DefaultWeightOnlyQuantConfig(block_size=block, is_symmetric=True, accuracy_level=4, bits=8,
                                       op_types_to_quantize=("MatMul",))
    quantiser = MatMulNBitsQuantizer(onnx.load(str(fp32)), bits=8, block_size=block, is_symmetric=True,
                                     accuracy_level=4, algo_config=cfg, op_types_to_quantize=("MatMul",))
    quantiser.process()
    quantiser.model.save_model_to_file(str(out), use_external_data_format=False)
    copy_metadata(fp32, out)


def copy_metadata(fp32: Path, out: Path) -> None:
    import onnx

    src, dst = onnx.load(str(fp32)), onnx.load(str(out))
    del dst.metadata_props[:]
    for p in src.metadata_props:  # the weights digest that Tasrih checks, and the rest
        dst.metadata_props.add(key=p.key, value=p.value.replace("onnx", "onnx-int8") if p.key == "tasrih.backend"
                               else p.value)
    onnx.save(dst, str(out))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(REPO / "bench" / "runs" / "e5_small"),
                    help="a trained model directory with model.safetensors")
    ap.add_argument("--split", default=str(REPO / "data" / "test.jsonl"))
    ap.add_argument("--limit", type=int, help="only the first N sentences")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--list", action="store_true", help="print the quantisable operators and stop")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "int8_variants.json"))
    args = ap.parse_args()
    import onnx
    from throughput import agreement  # bench/throughput.py: this script's folder is on sys.path

    from infer.fast import export
    from infer.predict import Tasrih

    rows = [json.loads(line) for line in Path(args.split).read_text(encoding="utf-8").splitlines() if line.strip()]
    sentences = [r["text"] for r in rows][: args.limit]
    with tempfile.TemporaryDirectory(prefix="tasrih-int8-") as tmp:
        tmp = Path(tmp)
        log(f"exporting {args.model} to the fused float32 graph")
        fp32 = export(args.model, tmp, int8=False)
        names = quantisable(onnx.load(str(fp32)))
        if args.list:
            print("\n".join(names))
            return 0
        ref_model = Tasrih.from_pretrained(tmp, backend="onnx")
        ref_model.predict(sentences[:32])
        t0 = time.perf_counter()
        ref = ref_model.predict(sentences)
        ref_seconds = [time.perf_counter() - t0]
        log(f"float32: {len(sentences)} sentences in {ref_seconds[0]:.1f} s")
        results = {"command": "python bench/int8_variants.py " + " ".join(sys.argv[1:]), "model": args.model,
                   "split": os.path.relpath(args.split, REPO), "sentences": len(sentences), "cpus": os.cpu_count(),
                   "load_before": os.getloadavg(), "variants": {}}
        for name in args.variants:
            what, pattern = VARIANTS[name]
            if pattern == BLOCKWISE:
                exclude = [n for n in names if not n.startswith("/model/") or "MatMul" not in n]
                quantise_blockwise(fp32, tmp / "model.int8.onnx")
            else:
                exclude = [n for n in names if pattern and re.fullmatch(pattern, n)]
                quantise(fp32, tmp / "model.int8.onnx", exclude)
            model = Tasrih.from_pretrained(tmp, backend="onnx-int8")
            model.predict(sentences[:32])
            t0 = time.perf_counter()
            out = model.predict(sentences)
            seconds = time.perf_counter() - t0
            t0 = time.perf_counter()  # the reference again, right after: the machine's speed moves
            ref_model.predict(sentences)
            ref_seconds.append(time.perf_counter() - t0)
            agree = agreement(ref, out)
            results["variants"][name] = {
                "float32_kept": what, "excluded_nodes": len(exclude), "quantised_nodes": len(names) - len(exclude),
                "agreement": agree, "seconds": round(seconds, 2), "float32_seconds": round(ref_seconds[-1], 2),
                "speedup_vs_float32": round(ref_seconds[-1] / seconds, 2),
                "size_mb": round((tmp / "model.int8.onnx").stat().st_size / 2**20, 1)}
            log(f"{name}: {json.dumps(results['variants'][name])}")
        results["load_after"] = os.getloadavg()
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"{'variant':<15} {'labels':>7} {'+spans':>7} {'x fp32':>7} {'MB':>6}  float32 kept")
    for name, v in results["variants"].items():
        print(f"{name:<15} {v['agreement']['label']:>7} {v['agreement']['label_and_spans']:>7} "
              f"{v['speedup_vs_float32']:>7} {v['size_mb']:>6}  {v['float32_kept']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
