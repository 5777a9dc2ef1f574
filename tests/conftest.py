import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEED_TEXT = REPO / "seeds" / "000_17ba21f3bbc6b9cb.txt"
SEED_GOLD = REPO / "data" / "seed.jsonl"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """The real local BERT builder: WordPiece trained on the shipped text, saved with save_pretrained."""
    from train.local_model import build_local_model

    return build_local_model("tiny", tmp_path_factory.mktemp("tiny-bert"),
                             text=REPO / "data" / "unlabeled" / "news_sentences.txt.gz", max_sentences=5000)


@pytest.fixture(scope="session")
def seed_splits(tmp_path_factory) -> dict[str, Path]:
    """The seed article cut into three documents, so that every label is in train."""
    rows = read_jsonl(SEED_GOLD)
    d = tmp_path_factory.mktemp("seed-splits")
    out = {}
    for name, idx in {"train": [0, 1, 2, 6, 7, 9], "dev": [3, 5, 8, 10], "test": [4, 11]}.items():
        out[name] = write_jsonl(d / f"{name}.jsonl", [dict(rows[i], doc=f"seed-000-{name}") for i in idx])
    return out


@pytest.fixture(scope="session")
def baseline_model(tmp_path_factory, seed_splits) -> Path:
    """A real classical baseline (`tasrih train model=baseline`), trained in seconds on the seed splits."""
    from hydra import compose, initialize_config_dir

    from train.cli import CONF_DIR
    from train.config import register
    from train.loop import train

    out = tmp_path_factory.mktemp("baseline") / "baseline"
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[
            "model=baseline", f"output_dir={out}", f"data.train={seed_splits['train']}",
            f"data.dev={seed_splits['dev']}", f"data.test={seed_splits['test']}", "model.baseline.crf_iterations=20"])
    train(cfg)
    return out


@pytest.fixture(scope="session")
def fast_model_dir(tiny_bert, tmp_path_factory):
    """A tiny TasrihModel trained for a few steps on the seed sentences, so that it says more than `none`
    (test_fast, test_ngram)."""
    import torch
    from transformers import AutoTokenizer

    from infer.labels import LABELS
    from infer.model import TasrihConfig, TasrihModel
    from infer.normalize import Normalizer
    from train.data import load
    from train.loop import collate, featurize

    config = TasrihConfig.from_pretrained(tiny_bert, id2label=dict(enumerate(LABELS)),
                                          label2id={v: k for k, v in enumerate(LABELS)})
    config.model_type = "tasrih"
    torch.manual_seed(0)
    model = TasrihModel.from_pretrained(tiny_bert, config=config)
    tok = AutoTokenizer.from_pretrained(tiny_bert)
    batch = collate(featurize(load([SEED_GOLD]), tok, Normalizer("basic"), 128), tok.pad_token_id)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    model.train()
    for _ in range(30):
        opt.zero_grad()
        model(**batch).loss.backward()
        opt.step()
    out = tmp_path_factory.mktemp("fast-model")
    model.eval().save_pretrained(out)
    tok.save_pretrained(out)
    return out
