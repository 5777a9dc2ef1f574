"""Write the unlabeled Arabic news text that ships in data/unlabeled/.

It trains the local BERT's WordPiece vocabulary (and, later, its masked
language model). Only train outlets are used, so no dev or test article can
leak into the encoder:

    python scripts/make_unlabeled.py --corpus ../shared/corpus --out data/unlabeled/news_sentences.txt.gz
"""

import argparse
import gzip
import json
import random
from pathlib import Path

from infer.text import split_sentences

TRAIN_OUTLETS = {"aljazirah", "aleqtisadiya", "almadina", "alweeam"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--sentences", type=int, default=40_000)
    args = ap.parse_args()
    held_out = {json.loads(l)["doc"] for l in open("data/annotation/candidates.jsonl", encoding="utf-8")}
    sents = []
    with gzip.open(args.corpus / "saudinewsnet" / "articles.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            a = json.loads(line)
            if a["source"] in TRAIN_OUTLETS and a["id"] not in held_out:
                sents.extend(s.text for s in split_sentences(a["content"]) if len(s.text) >= 20)
    random.Random(0).shuffle(sents)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt", encoding="utf-8") as f:
        f.write("\n".join(sents[: args.sentences]) + "\n")
    print(f"wrote {min(len(sents), args.sentences)} of {len(sents)} sentences to {args.out}")


if __name__ == "__main__":
    main()
