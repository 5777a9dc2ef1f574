"""Can ONNX Runtime settings make the BERT-base-shaped int8 job fast enough for 6x the pipeline?

    python bench/ort_knobs.py                      # 400 news sentences, 2 rounds (about 5 minutes)
    python bench/ort_knobs.py --sentences 1000 --rounds 3

bench/whole_job.py measured `tasrih classify` with the int8 export of the BERT-base-shaped model at
4.25x a transformers pipeline (30.4 against 7.1 sentences/s, load included); 6x needs about 43. Nearly
all of that job is ONNX Runtime's `run`. This times `Tasrih.predict` in one process (no load, no
output) on the same model and news sentences under each setting a user or tasrih could change: the
batch size, busy-waiting threads, and the form of the int8 graph (weights per channel or per tensor,
signed or unsigned, reduced range), with the float32 graph as the reference. The settings take turns
in each round, so a slow minute of this shared machine falls on all. It also profiles the shipped int8
form on one batch (ONNX Runtime's profiler: each operator type's share of the kernel time), to show
where the time goes. Writes bench/results/ort_knobs.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from whole_job import base_model, load_sentences  # bench/whole_job.py, beside this script

REPO = Path(__file__).resolve().parent.parent
# name -> quantize_dynamic arguments (None: the float32 graph)
FORMS = {
    "int8 per channel (tasrih export --int8)": {"per_channel": True},
    "int8 per tensor (--per-tensor)": {"per_channel": False},
    "int8 per channel, reduced range": {"per_channel": True, "reduce_range": True},
    "uint8 weights per tensor": {"per_channel": False, "unsigned": True},
    "float32": None,
}
BATCHES = (8, 16, 32, 64)


def op_shares(graph: Path, batch: int = 32, tokens: int = 48, runs: int = 5) -> dict[str, float]:
    """Each operator type's share of ONNX Runtime's kernel time over ``runs`` runs of one batch of
    ``batch`` x ``tokens`` token ids (the mean news sentence is about 40 tokens)."""
    import collections

    import numpy as np
    import onnxruntime as ort

    from infer.threads import physical_cores

    so = ort.SessionOptions()
    so.enable_profiling = True
    so.intra_op_num_threads = physical_cores()
    so.profile_file_prefix = str(Path(tempfile.gettempdir()) / "tasrih-ort-profile")
    session = ort.InferenceSession(str(graph), so, providers=["CPUExecutionProvider"])
    ids = np.random.default_rng(0).integers(5, 1000, size=(batch, tokens), dtype=np.int64)
    for _ in range(runs):
        session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
    trace = Path(session.end_profiling())
    micros: collections.Counter = collections.Counter()
    for event in json.loads(trace.read_text(encoding="utf-8")):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            micros[event["args"]["op_name"]] += event["dur"]
    trace.unlink()
    total = sum(micros.values())
    return {op: round(100 * us / total, 1) for op, us in micros.most_common() if us / total >= 0.001}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sentences", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "ort_knobs.json"))
    args = ap.parse_args()
    from infer.fast import export, quantise_dynamic
    from infer.predict import Tasrih
    from infer.transformer import OrtRunner

    sentences = load_sentences(args.sentences)
    work = REPO / "local" / "bench"
    _, tasrih = base_model(work)
    with tempfile.TemporaryDirectory(prefix="tasrih-knobs-") as tmp:
        tmp = Path(tmp)
        fp32 = export(tasrih, tmp, int8=False)
        graphs = {name: fp32 if kw is None else quantise_dynamic(fp32, tmp / f"{i}.onnx", **kw)
                  for i, (name, kw) in enumerate(FORMS.items())}
        model = Tasrih.from_pretrained(tasrih, backend="int8")
        default = next(iter(FORMS))
        # (what, graph, batch size, spinning)
        settings = [(f"{name}, batch 32", graphs[name], 32, False) for name in FORMS]
        settings += [(f"{default}, batch {b}", graphs[default], b, False) for b in BATCHES if b != 32]
        settings += [(f"{default}, batch 32, threads spin", graphs[default], 32, True)]
        profile = op_shares(graphs[default])
        seconds: dict[str, list[float]] = {}
        for r in range(args.rounds):
            for what, graph, batch, spin in settings if r % 2 == 0 else settings[::-1]:
                model.runner = OrtRunner(graph, spinning=spin)
                model.predict(sentences[:batch], batch_size=batch)  # warm: first-run allocations
                t0 = time.perf_counter()
                model.predict(sentences, batch_size=batch)
                seconds.setdefault(what, []).append(round(time.perf_counter() - t0, 2))
                print(f"round {r + 1}: {what}: {len(sentences) / seconds[what][-1]:.1f} sentences/s", flush=True)
    rows = {what: {"seconds": s, "sentences_per_second": round(len(sentences) / min(s), 1)} for what, s in seconds.items()}
    result = {"command": "python bench/ort_knobs.py " + " ".join(sys.argv[1:]), "sentences": len(sentences),
              "rounds": args.rounds, "cpus": os.cpu_count(), "load_after": os.getloadavg(), "settings": rows,
              "kernel_time_percent_by_operator": profile}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print("| setting | sentences/s (best round) |\n|---|---:|")
    for what, row in rows.items():
        print(f"| {what} | {row['sentences_per_second']} |")
    print("kernel time by operator (%, int8 per channel, one batch):", json.dumps(profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
