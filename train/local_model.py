"""Build a randomly initialised BERT with a WordPiece vocabulary trained on our Arabic text.

The Hugging Face hub cannot be reached here, so the local BERT stands in for
AraBERT and goes through exactly the same code path: it is saved with
``save_pretrained`` and loaded by name like any hub checkpoint.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import BertConfig, BertModel, BertTokenizer

from infer.normalize import basic_normalize
from infer.text import split_words

SIZES = {
    # name: (layers, hidden, heads, intermediate, vocabulary)
    "tiny": (2, 128, 2, 512, 8_000),
    "small": (4, 256, 4, 1024, 16_000),
    "base": (12, 768, 12, 3072, 64_000),  # the shape of bert-base-arabertv02
}
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
DEFAULT_TEXT = Path("data/unlabeled/news_sentences.txt.gz")


def read_text(path: Path, limit: int | None = None):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if limit is not None and i >= limit:
                return
            if line.strip():
                # Train the vocabulary on the words exactly as the model will see them.
                yield " ".join(basic_normalize(w.text) for w in split_words(line))


def train_wordpiece(path: Path, vocab_size: int, limit: int | None = None) -> list[str]:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                                strip_accents=False, lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL, min_frequency=2,
                                        show_progress=False)
    tok.train_from_iterator(read_text(path, limit), trainer=trainer)
    vocab = [t for t, _ in sorted(tok.get_vocab().items(), key=lambda kv: kv[1])]
    # A small corpus yields fewer pieces than asked; pad so the shape matches the size asked for.
    vocab += [f"[unused{i}]" for i in range(vocab_size - len(vocab))]
    return vocab


def build_local_model(size: str, out: Path, text: Path = DEFAULT_TEXT, seed: int = 0,
                      max_sentences: int | None = None) -> Path:
    """Write a BERT of the given size (model + tokenizer) to ``out`` and return ``out``."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: choose one of {', '.join(SIZES)}")
    if not text.exists():
        raise FileNotFoundError(f"training text {text} not found: run from the repository root or pass --text")
    import torch

    layers, hidden, heads, inter, vocab_size = SIZES[size]
    out.mkdir(parents=True, exist_ok=True)
    vocab = train_wordpiece(text, vocab_size, max_sentences)
    tokenizer = BertTokenizer(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=False,
                              strip_accents=False, tokenize_chinese_chars=False)
    tokenizer.save_pretrained(out)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=inter, max_position_embeddings=512)
    BertModel(config).save_pretrained(out)
    from train.run import share_files

    share_files(out)
    (out / "README.md").write_text(
        f"# Local BERT ({size})\n\nRandomly initialised BERT ({layers} layers, hidden {hidden}, "
        f"{len(vocab)} WordPiece vocabulary trained on `{text}`). Built by `tasrih build-local-model "
        f"--size {size}`; it stands in for `aubmindlab/bert-base-arabertv02` where the hub cannot be reached.\n",
        encoding="utf-8")
    return out
