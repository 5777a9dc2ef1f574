"""Inputs that cannot break anything: bad data, bad model directories, arbitrary Unicode and bytes.

Everything runs on the real pieces: the local BERT's real tokenizer, a real saved tasrih model,
the `tasrih` command (in process through train.cli.main, and as a subprocess where exit codes and
tracebacks matter). docs/robustness.md lists every case tried here and what it gets.
"""

import contextlib
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infer.features import encode, first_token_positions, spans_from_tags
from infer.labels import LABELS, SPAN_TAGS
from infer.normalize import Normalizer
from infer.predict import ModelLoadError, Tasrih
from infer.text import split_sentences, split_words
from tests.conftest import REPO, read_jsonl, write_jsonl

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def tasrih(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "train.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=ENV)


def tasrih_in_process(*args: str) -> tuple[int, str, str]:
    """`tasrih ARGS` through train.cli.main in this process: the same code, no start-up cost."""
    from train.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Two shared cores: one torch thread is several times faster than two fighting over them."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model_dir(tiny_bert, tmp_path_factory) -> Path:
    """A saved tasrih model whose heads are set so that it finds claims, actors and targets everywhere.

    The heads of an untrained model say "none" and find no span, which would leave the offset
    mapping untested; here the label head leans to `accusation` and the span head is large and
    random, so that most sentences get an actor and a target of varying length.
    """
    from transformers import AutoTokenizer

    from infer.labels import LABEL2ID
    from infer.model import TasrihConfig, TasrihModel

    config = TasrihConfig.from_pretrained(tiny_bert, id2label=dict(enumerate(LABEL2ID)), label2id=dict(LABEL2ID))
    config.model_type = "tasrih"
    model = TasrihModel.from_pretrained(tiny_bert, config=config)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        model.label_head.bias.copy_(torch.tensor([-3.0, 3.0, 0.0, 0.0, 0.0]))
        model.span_head.weight.copy_(torch.randn(model.span_head.weight.shape, generator=gen) * 3)
        model.span_head.bias.copy_(torch.tensor([-2.0, 1.0, 1.0, 1.0, 1.0]))
    out = tmp_path_factory.mktemp("tasrih-model")
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def predictor(model_dir) -> Tasrih:
    return Tasrih.from_pretrained(model_dir, device="cpu")


def check_rows(rows: list[dict], text: str) -> None:
    """The rows of one document are its sentences, in order, each span exactly where it says."""
    pieces = split_sentences(text)
    assert [r["text"] for r in rows] == [p.text for p in pieces]
    assert [r["sentence_index"] for r in rows] == list(range(len(pieces)))
    for r in rows:
        assert r["label"] in LABELS
        for role in ("actor", "target"):
            span = r[role]
            if span is not None:
                assert 0 <= span["start"] < span["end"] <= len(r["text"])
                assert r["text"][span["start"]:span["end"]] == span["text"]


def non_space(s: str) -> str:
    return "".join(c for c in s if not c.isspace())


# ---- 4. `tasrih train` refuses bad data before it loads any model ---------------------------------

def test_train_refuses_an_invalid_record_before_loading_a_model(seed_splits, tmp_path):
    rows = read_jsonl(seed_splits["train"])
    rows[2] = dict(rows[2], label="blame")
    train = write_jsonl(tmp_path / "train.jsonl", rows)
    # The model does not exist and may not be built: reaching it would fail in another way.
    r = tasrih("train", "experiment=smoke", f"model.name_or_path={tmp_path / 'no-model'}", "model.local_size=null",
               f"output_dir={tmp_path / 'run'}", f"data.train={train}", f"data.dev={seed_splits['dev']}",
               f"data.test={seed_splits['test']}")
    assert r.returncode == 2
    assert r.stderr.strip() == (f"tasrih: error: {train}:3: label 'blame' is not one of none, accusation, denial, "
                                f"agreement, demand")
    assert "Traceback" not in r.stdout + r.stderr
    assert not (tmp_path / "no-model").exists() and not (tmp_path / "run" / "model.safetensors").exists()


def test_train_refuses_leaks_empty_splits_and_missing_labels_naming_the_records(seed_splits, tmp_path):
    train_rows = read_jsonl(seed_splits["train"])
    demand = [r for r in train_rows if r["label"] == "demand"]
    train = write_jsonl(tmp_path / "train.jsonl", [r for r in train_rows if r["label"] != "demand"])
    dev_rows = read_jsonl(seed_splits["dev"])
    dev = write_jsonl(tmp_path / "dev.jsonl", dev_rows + [dict(train_rows[0], id="leak-1", doc="seed-000-dev")])
    test = tmp_path / "test.jsonl"
    test.write_text("", encoding="utf-8")
    assert demand
    r = tasrih("train", "experiment=smoke", f"model.name_or_path={tmp_path / 'no-model'}", "model.local_size=null",
               f"output_dir={tmp_path / 'run'}", f"data.train={train}", f"data.dev={dev}", f"data.test={test}")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"tasrih: error: {test}: the test split is empty",
        f"{train}: no train example of demand; the model cannot learn it",
        f"{dev}:{len(dev_rows) + 1}: the same sentence text is in train at {train}:1",
    ]
    assert "Traceback" not in r.stdout + r.stderr
    assert not (tmp_path / "no-model").exists()


# ---- 3. missing, truncated or tampered model directories ------------------------------------------

def _edit_json(name, fn):
    def edit(d: Path):
        obj = json.loads((d / name).read_text(encoding="utf-8"))
        fn(obj)
        (d / name).write_text(json.dumps(obj), encoding="utf-8")
    return edit


def _truncate(name, keep):
    def edit(d: Path):
        data = (d / name).read_bytes()
        (d / name).write_bytes(data[:keep] if keep >= 0 else data[:keep])
    return edit


def _drop_tensor(key):
    def edit(d: Path):
        from safetensors.torch import load_file, save_file

        tensors = load_file(str(d / "model.safetensors"))
        del tensors[key]
        save_file(tensors, str(d / "model.safetensors"), metadata={"format": "pt"})
    return edit


def _foreign_tokenizer(d: Path):
    tok = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))
    tok["model"]["vocab"]["كلمةغريبة"] = 12000  # an id past the model's 8,000 embeddings
    (d / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False), encoding="utf-8")


EXPECTED_LABELS = "['none', 'accusation', 'denial', 'agreement', 'demand']"
BAD_MODEL_DIRS = {
    # name: (how the directory is spoiled, the message; {d} is the directory)
    "no directory": (lambda d: shutil.rmtree(d), "{d}: no such model directory (train one with `tasrih train` or "
                                                 "build one with `tasrih build-local-model`)"),
    "config.json missing": (lambda d: (d / "config.json").unlink(),
                            "{d}/config.json: missing; a model directory needs config.json"),
    "config.json truncated": (_truncate("config.json", 100), "{d}/config.json: not valid JSON (Expecting ',' "
                                                             "delimiter: line 6 column 1 (char 100))"),
    "config.json a list": (lambda d: (d / "config.json").write_text("[]"), "{d}/config.json: not a JSON object"),
    "a plain BERT config": (_edit_json("config.json", lambda c: c.update(model_type="bert")),
                            "{d}/config.json: model_type is 'bert', not 'tasrih' (a plain encoder must be fine-tuned "
                            "with `tasrih train` first)"),
    "id2label with 6 labels": (_edit_json("config.json", lambda c: c["id2label"].update({"5": "praise"})),
                               "{d}/config.json: id2label is ['none', 'accusation', 'denial', 'agreement', 'demand', "
                               "'praise'], expected " + EXPECTED_LABELS),
    "id2label with 4 labels": (_edit_json("config.json", lambda c: c["id2label"].pop("4")),
                               "{d}/config.json: id2label is ['none', 'accusation', 'denial', 'agreement'], expected "
                               + EXPECTED_LABELS),
    "id2label renamed": (_edit_json("config.json", lambda c: c["id2label"].update({"1": "blame"})),
                         "{d}/config.json: id2label is ['none', 'blame', 'denial', 'agreement', 'demand'], expected "
                         + EXPECTED_LABELS),
    "id2label a list": (_edit_json("config.json", lambda c: c.update(id2label=list(LABELS))),
                        "{d}/config.json: id2label is list, expected an object {\"0\": \"none\", ...} of 5 labels"),
    "span tags changed": (_edit_json("config.json", lambda c: c.update(span_tags=["O", "B-actor", "I-actor"])),
                          "{d}/config.json: span_tags is ['O', 'B-actor', 'I-actor'], expected "
                          + str(list(SPAN_TAGS))),
    "unknown normaliser": (_edit_json("config.json", lambda c: c.update(normalizer="fancy")),
                           "{d}/config.json: normalizer is 'fancy', expected 'basic' or 'arabert:<model name>'"),
    "span threshold out of range": (_edit_json("config.json", lambda c: c.update(span_thresholds={"actor": 7})),
                                    "{d}/config.json: span_thresholds is {'actor': 7}, expected an object of numbers "
                                    "from 0 to 1 for actor and target"),
    "hidden size changed": (_edit_json("config.json", lambda c: c.update(hidden_size=64)),
                            "{d}/model.safetensors: bert.embeddings.word_embeddings.weight has shape [8000, 128], "
                            "config.json expects [8000, 64]"),
    "a layer more in config": (_edit_json("config.json", lambda c: c.update(num_hidden_layers=3)),
                               "{d}/model.safetensors: holds 2 encoder layers, config.json says num_hidden_layers=3"),
    "model.safetensors missing": (lambda d: (d / "model.safetensors").unlink(),
                                  "{d}/model.safetensors: missing; weights are loaded from safetensors only, "
                                  "never pickles"),
    "model.safetensors truncated": (_truncate("model.safetensors", -1000),
                                    "{d}/model.safetensors: corrupt or truncated (Error while deserializing header: "
                                    "incomplete metadata, file not fully covered)"),
    "model.safetensors empty": (_truncate("model.safetensors", 0), "{d}/model.safetensors: corrupt or truncated "
                                                                   "(Error while deserializing header: header too "
                                                                   "small)"),
    "model.safetensors garbage": (lambda d: (d / "model.safetensors").write_bytes(b"\x10\x00" * 500),
                                  "{d}/model.safetensors: corrupt or truncated (Error while deserializing header: "
                                  "header too large)"),
    "a head tensor removed": (_drop_tensor("label_head.weight"),
                              "{d}/model.safetensors: lacks label_head.weight: not the weights of the model "
                              "config.json describes"),
    "an encoder tensor removed": (_drop_tensor("bert.encoder.layer.1.output.dense.weight"),
                                  "{d}/model.safetensors: lacks bert.encoder.layer.1.output.dense.weight: not the "
                                  "weights of the model config.json describes"),
    "tokenizer missing": (lambda d: (d / "tokenizer.json").unlink(),
                          "{d}/tokenizer.json: missing; the tokenizer must be saved with the model"),
    "tokenizer.json truncated": (_truncate("tokenizer.json", 5000), None),  # message checked by prefix below
    "tokenizer_config.json missing": (lambda d: (d / "tokenizer_config.json").unlink(),
                                      "{d}/tokenizer_config.json: missing; the tokenizer must be saved with the model"),
    "pad token not in vocabulary": (_edit_json("tokenizer_config.json", lambda c: c.update(pad_token="<pad>")),
                                    "{d}/tokenizer_config.json: pad_token '<pad>' is not in the vocabulary of "
                                    "tokenizer.json"),
    "tokenizer of a bigger model": (_foreign_tokenizer,
                                    "{d}/tokenizer.json: has token ids up to 12000, but the model embeds only 8000 "
                                    "(a tokenizer from another model?)"),
}


def spoiled(model_dir: Path, tmp_path: Path, case: str) -> tuple[Path, str | None]:
    d = tmp_path / "model"
    shutil.copytree(model_dir, d)
    edit, message = BAD_MODEL_DIRS[case]
    edit(d)
    return d, message.replace("{d}", str(d)) if message else None


@pytest.mark.parametrize("case", list(BAD_MODEL_DIRS))
def test_a_bad_model_directory_fails_with_one_line_naming_the_file(case, model_dir, tmp_path):
    d, message = spoiled(model_dir, tmp_path, case)
    with pytest.raises(ModelLoadError) as e:
        Tasrih.from_pretrained(d)
    if message is None:
        message = f"{d}/tokenizer.json: not valid JSON ("
        assert str(e.value).startswith(message) and "\n" not in str(e.value)
    else:
        assert str(e.value) == message
    # The same through `tasrih classify --model`: exit 2, that one line, nothing on stdout.
    article = tmp_path / "a.txt"
    article.write_text("قال الوزير إن الحرب انتهت.", encoding="utf-8")
    rc, out, err = tasrih_in_process("classify", str(article), "--model", str(d))
    assert (rc, out) == (2, "")
    assert err.startswith(f"tasrih: error: {message}") and err.count("\n") == 1


def test_the_command_prints_one_line_and_no_traceback_for_a_truncated_model(model_dir, tmp_path):
    d, message = spoiled(model_dir, tmp_path, "model.safetensors truncated")
    article = tmp_path / "a.txt"
    article.write_text("قال الوزير إن الحرب انتهت.", encoding="utf-8")
    r = tasrih("classify", str(article), "--model", str(d))
    assert (r.returncode, r.stdout, r.stderr) == (2, "", f"tasrih: error: {message}\n")


class PickleBomb:
    """Unpickling this leaves a marker file: proof that something was unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_nothing_is_ever_unpickled(model_dir, tmp_path):
    marker = tmp_path / "unpickled"
    d = tmp_path / "model"
    shutil.copytree(model_dir, d)
    for name in ("pytorch_model.bin", "training_args.bin", "optimizer.pt", "rng_state.pth"):
        torch.save(PickleBomb(marker), d / name)
    rows = list(Tasrih.from_pretrained(d).classify_text("قال الوزير إن الحرب انتهت."))
    assert len(rows) == 1 and not marker.exists()  # the safetensors weights, not the pickles
    (d / "model.safetensors").unlink()  # now only the pickles are left
    with pytest.raises(ModelLoadError) as e:
        Tasrih.from_pretrained(d)
    assert str(e.value) == f"{d}/model.safetensors: missing; weights are loaded from safetensors only, never pickles"
    assert not marker.exists()


# ---- 5. properties of the splitter and the offset mapping, on arbitrary Unicode -------------------

INTERESTING = [
    *"قال الوزير إن الحرب انتهت ونفى المتحدث ذلك",  # Arabic letters and spaces
    "\u064b", "\u064e", "\u0650", "\u0651", "\u0652", "\u0670",  # diacritics (tashkeel), dagger alef
    "\u0640",  # tatweel
    "\u200f", "\u200e", "\u061c", "\u202b", "\u202c", "\u2067", "\u2069",  # RTL/LTR marks, embeddings, isolates
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",  # zero-width space, non-joiner, joiner, word joiner, BOM
    "😀", "👍", "🏽", "🇸", "🇦", "👨", "\ufe0f",  # emoji, skin tone, regional indicators, variation selector
    *"Lavrov e\u0301 ñ 战争 שלום Привет ٤٥٦ 3.5",  # Latin (with a combining accent), CJK, Hebrew, Cyrillic, digits
    ".", "!", "?", "؟", "…", "،", "؛", "«", "»", "(", ")", "[", "]", "“", "”", '"', "'",  # terminators, brackets
    "د.", "U.S.", "ص.ب", "www.spa.gov.sa",  # abbreviations and dotted names
    " ", "\u00a0", "\u3000", "\t", "\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c",  # breaks
    "\x00", "\x01", "\x1b", "\x7f",  # control characters (the library takes them; the CLI refuses NUL)
]
# Arbitrary code points too, surrogates aside (no UTF-8 text can hold one).
ANY_CHAR = st.characters(exclude_categories=("Cs",))
texts = st.lists(st.one_of(st.sampled_from(INTERESTING), ANY_CHAR), max_size=80).map("".join)


@SETTINGS
@given(texts)
def test_sentences_keep_offsets_and_every_character(text):
    pieces = split_sentences(text)
    end = 0
    for p in pieces:
        assert text[p.start:p.end] == p.text
        assert p.text and p.text == p.text.strip()
        assert p.start >= end
        end = p.end
    assert "".join(non_space(p.text) for p in pieces) == non_space(text)  # nothing lost, added or reordered


@SETTINGS
@given(texts)
def test_words_keep_offsets_and_every_character(text):
    words = split_words(text)
    assert all(text[w.start:w.end] == w.text and w.text for w in words)
    assert all(a.end <= b.start for a, b in zip(words, words[1:]))
    assert "".join(w.text for w in words) == non_space(text)


@pytest.fixture(scope="module")
def tokenizer(model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir)


@SETTINGS
@given(st.lists(texts, min_size=1, max_size=4), st.sampled_from([4, 8, 16, 128]), st.data())
def test_windows_cover_every_word_and_spans_map_back_exactly(tokenizer, sentences, max_length, data):
    words, segments = encode(tokenizer, Normalizer("basic"), sentences, max_length)
    for si, text in enumerate(sentences):
        segs = [s for s in segments if s.sentence == si]
        assert segs, "every sentence gets at least one window"
        tagged = [w for s in segs for w in first_token_positions(s)]
        assert sorted(tagged) == list(range(len(words[si])))  # each word is read once: none dropped
        for s in segs:
            assert len(s.input_ids) <= max_length and len(s.input_ids) == len(s.word_ids)
        tags = data.draw(st.lists(st.sampled_from(SPAN_TAGS), min_size=len(words[si]), max_size=len(words[si])))
        probs = data.draw(st.lists(st.floats(0.01, 1.0), min_size=len(words[si]), max_size=len(words[si])))
        for role in ("actor", "target"):
            span = spans_from_tags(tags, probs, words[si], text, role)
            if span is not None:
                assert text[span["start"]:span["end"]] == span["text"]
                assert span["start"] in {w.start for w in words[si]} and span["end"] in {w.end for w in words[si]}


@settings(SETTINGS, max_examples=200)
@given(texts)
def test_the_model_labels_every_sentence_and_its_spans_map_back(predictor, text):
    if not text.strip():  # refused, as the CLI and predict([""]) refuse it
        with pytest.raises(ValueError, match="^the text is empty: there is nothing to classify$"):
            predictor.classify_text(text, doc="x")
        return
    rows = list(predictor.classify_text(text, doc="x"))
    check_rows(rows, text)


def test_the_biased_model_does_find_spans(predictor):
    """Guard for the property above: it must see spans, or it would prove nothing about offsets."""
    text = "قال الوزير إن الحرب انتهت. ونفى المتحدث باسم الخارجية ذلك، وطالب واشنطن بالانسحاب. " * 3
    rows = list(predictor.classify_text(text))
    assert sum(r["actor"] is not None for r in rows) >= 3 and sum(r["target"] is not None for r in rows) >= 3


def test_the_python_api_refuses_a_lone_surrogate_with_a_clear_error(predictor):
    with pytest.raises(ValueError) as e:
        list(predictor.classify_text("قال \ud800 الوزير."))
    assert str(e.value) == "sentence 0 holds a lone surrogate U+D800 at character 4: not Unicode text"
    assert list(predictor.classify_sentences([])) == [] and predictor.predict([]) == []


def test_the_python_api_takes_one_sentence_as_a_string_and_refuses_empty_text(predictor):
    one = predictor.predict("نفت الوزارة صحة التقارير.")
    assert len(one) == 1 and one[0]["text"] == "نفت الوزارة صحة التقارير."
    for bad in ("", "  \n "):
        with pytest.raises(ValueError, match="^the text is empty: there is nothing to classify$"):
            predictor.classify_text(bad)
    with pytest.raises(ValueError, match="^sentence 0 is empty: there is nothing to classify$"):
        predictor.predict("")
    with pytest.raises(TypeError, match="^predict\\(\\) takes a sentence \\(str\\) or a list of sentences, not int$"):
        predictor.predict(3)


def expected_outcome(raw: bytes) -> str | None:
    """The error `tasrih classify` must give for these bytes, or None when it must classify them."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw:
        return "error"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "error"
    return "error" if not text.strip() else None


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=200), texts.map(lambda t: t.encode("utf-8"))))
def test_classify_on_arbitrary_bytes_classifies_or_says_why(model_dir, tmp_path_factory, raw):
    d = tmp_path_factory.mktemp("bytes")
    f, out = d / "input.txt", d / "out.jsonl"
    f.write_bytes(raw)
    rc, stdout, err = tasrih_in_process("classify", str(f), "--model", str(model_dir), "-o", str(out))
    if expected_outcome(raw) == "error":
        assert rc == 2 and stdout == "" and not out.exists()
        assert err.startswith(f"tasrih: error: {f}: ") and err.count("\n") == 1
    else:
        assert rc == 0, err
        check_rows(read_jsonl(out), raw.decode("utf-8-sig"))


# ---- the cases of docs/robustness.md, one by one ---------------------------------------------------

def one_mb_line() -> str:
    """A single line of real news sentences, 1,000,000 bytes of UTF-8."""
    with gzip.open(REPO / "data" / "unlabeled" / "news_sentences.txt.gz", "rt", encoding="utf-8") as f:
        parts, size = [], 0
        for line in f:
            s = line.strip().rstrip(".") + "."
            parts.append(s)
            size += len(s.encode()) + 1
            if size > 1_000_000:
                break
    line = " ".join(parts).encode()[:1_000_000].decode("utf-8", errors="ignore")
    return line


GOOD_CASES = {
    "rtl_marks": "قال\u200f الوزير\u200e إن \u061cالحرب انتهت. \u202bنص مضمّن\u202c \u2067معزول\u2069؟",
    "zero_width": "قال\u200bالوزير\u200c إن\u200d الحرب\ufeff انتهت\u2060.",
    "only_zero_width": "\u200b\u200f\u200e\u2060",
    "tatweel": "قـــــال الوزيـــــر إن الحـــرب انتهـــت. ـــــ",
    "diacritics": "قَالَ الْوَزِيرُ إِنَّ الْحَرْبَ انْتَهَتْ. \u064b\u064e \u0651",
    "emoji": "قال الوزير 😀 إن الحرب انتهت 👨\u200d👩\u200d👧\u200d👦! 🇸🇦 👍🏽 ❤\ufe0f",
    "mixed_scripts": "قال Lavrov إن 战争 انتهت. שלום! Привет мир? 123 ٤٥٦ e\u0301.",
    "control_chars": "قال\x01 الوزير\x7f \x1b[31mإن الحرب انتهت\x1b[0m.",
    "line_separators": "قال الوزير\u2028إن الحرب\u2029انتهت\x85نعم\x0bلا\x0cربما\x1cأبدا",
    "crlf_and_cr": "سطر أول\r\nسطر ثان\rسطر ثالث\r\n",
    "bom_at_start": "قال الوزير إن الحرب انتهت.",  # written with a UTF-8 BOM in front
    "unbalanced_brackets": "«قال الوزير. ثم (ذهب. وقال [آخر» إن) الحرب انتهت.",
    "only_punctuation": "...!!!؟؟؟…",
    "long_word": "ا" * 100_000,
    "long_sentence": " ".join(["كلمة"] * 2000),
    "one_mb_line": None,  # built from the shipped news text
}


def test_every_listed_case_is_classified_by_the_command(model_dir, tmp_path):
    """All the text cases in one folder, through a real `tasrih classify` process."""
    folder = tmp_path / "cases"
    folder.mkdir()
    texts = {}
    for name, text in GOOD_CASES.items():
        texts[name] = one_mb_line() if text is None else text
        (folder / f"{name}.txt").write_bytes(texts[name].encode("utf-8-sig" if name == "bom_at_start" else "utf-8"))
    assert len((folder / "one_mb_line.txt").read_bytes()) > 999_000 and "\n" not in texts["one_mb_line"]
    # A JSONL article whose text holds U+2028 and U+0085 unescaped, as JSON allows.
    jsonl_text = "قال الوزير\u2028إن الحرب\x85انتهت."
    (folder / "u2028.jsonl").write_text(json.dumps({"id": "u2028", "text": jsonl_text}, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    texts["u2028"] = jsonl_text
    out = tmp_path / "out.jsonl"
    t = time.time()
    r = tasrih("classify", str(folder), "--model", str(model_dir), "-o", str(out), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    rows = read_jsonl(out)
    by_doc: dict[str, list] = {}
    for row in rows:
        by_doc.setdefault(row["doc"], []).append(row)
    assert set(by_doc) == set(texts)
    for name, text in texts.items():
        check_rows(by_doc[name], text)
    assert len(by_doc["one_mb_line"]) > 1000
    long = by_doc["long_sentence"]
    assert len(long) == 1 and long[0]["windows"] > 1  # read in several windows, and said so:
    assert f"tasrih: long_sentence sentence 0: longer than the model's window, read in {long[0]['windows']} windows" \
        in r.stderr.splitlines()
    print(f"classified {len(rows)} sentences of {len(texts)} documents in {time.time() - t:.1f} s")


BAD_CASES = {
    # name: (bytes, file suffix, the message after "tasrih: error: FILE")
    "empty": (b"", ".txt", ": empty, nothing to classify"),
    "only_whitespace": (" \u3000\n\t\u2028".encode(), ".txt", ": only whitespace, nothing to classify"),
    "nul_bytes": ("قال\x00الوزير".encode(), ".txt",
                  ": binary data (NUL bytes), not text; give a UTF-8 text or JSONL file"),
    "invalid_utf8_truncated": ("قال".encode()[:-1], ".txt",
                               ": not UTF-8 text (byte 0xd9 at offset 4); convert it with `iconv -t UTF-8`"),
    "cp1256": ("قال الوزير".encode("cp1256"), ".txt",
               ": not UTF-8 text (byte 0xde at offset 0); convert it with `iconv -t UTF-8`"),
    "utf16": ("قال الوزير".encode("utf-16"), ".txt", ": UTF-16 text, not UTF-8; convert it with "
                                                       "`iconv -f UTF-16 -t UTF-8`"),
    "encoded_surrogate": (b"\xed\xa0\x80", ".txt",
                          ": not UTF-8 text (byte 0xed at offset 0); convert it with `iconv -t UTF-8`"),
    "overlong_utf8": (b"\xc0\xaf", ".txt", ": not UTF-8 text (byte 0xc0 at offset 0); convert it with "
                                          "`iconv -t UTF-8`"),
    "jsonl_lone_surrogate": (b'{"id": "a", "text": "\\u0642\\u0627\\u0644 \\ud800"}\n', ".jsonl",
                             ':1: "text" holds a lone surrogate \\ud800 at character 4 '
                             "(use --skip-bad to report bad lines and go on)"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_every_listed_bad_input_gets_a_one_line_error(case, model_dir, tmp_path):
    raw, suffix, message = BAD_CASES[case]
    f = tmp_path / f"{case}{suffix}"
    f.write_bytes(raw)
    out = tmp_path / "out.jsonl"
    rc, stdout, err = tasrih_in_process("classify", str(f), "--model", str(model_dir), "-o", str(out))
    assert (rc, stdout, err) == (2, "", f"tasrih: error: {f}{message}\n")
    assert not out.exists()


def test_adversarial_long_lines_split_in_linear_time():
    """Lines that took minutes to hours before (a quadratic look-behind per dot, a stack scan per closer).

    250,000 characters each: about a second now; before the fix, 2 to 10 minutes (a 1 MB line: hours).
    """
    n = 250_000
    lines = {"dotted words": "كلمة. " * (n // 6), "dotted letters": "ب." * (n // 2),
             "unmatched brackets": "(" * (n // 2) + "»" * (n // 2), "nested quotes": "«" * (n // 2) + "»" * (n // 2)}
    for name, line in lines.items():
        t = time.time()
        pieces = split_sentences(line)
        assert pieces and time.time() - t < 20, name
        assert "".join(p.text for p in pieces).replace(" ", "") == line.replace(" ", "")


# ---- 6. a JSONL input with a bad line: nothing written, or --skip-bad reports it and goes on -------

ARTICLES = [{"id": "a1", "text": "قال الوزير إن الحرب انتهت. ونفى المتحدث ذلك."},
            "{not json",
            {"id": "a2", "text": "وطالبت الحكومة بالانسحاب."},
            ["a list, not an object"],
            {"id": "a3", "text": "   "},
            {"id": "a4", "text": "واتهمت الوزارة الجماعة بتنفيذ الهجوم."}]


def write_articles(path: Path) -> Path:
    path.write_text("".join((a if isinstance(a, str) else json.dumps(a, ensure_ascii=False)) + "\n"
                            for a in ARTICLES), encoding="utf-8")
    return path


def test_a_bad_jsonl_line_stops_before_any_output(model_dir, tmp_path):
    f = write_articles(tmp_path / "articles.jsonl")
    out = tmp_path / "out.jsonl"
    rc, stdout, err = tasrih_in_process("classify", str(f), "--model", str(model_dir), "-o", str(out))
    assert (rc, stdout) == (2, "") and not out.exists()
    assert err == (f"tasrih: error: {f}:2: Expecting property name enclosed in double quotes "
                   f"(use --skip-bad to report bad lines and go on)\n")
    rc, stdout, err = tasrih_in_process("classify", str(f), "--model", str(model_dir))  # to stdout: nothing either
    assert (rc, stdout) == (2, "")
    assert not list(tmp_path.glob(".out.jsonl*"))  # no temporary file left behind


def test_skip_bad_reports_each_bad_line_and_classifies_the_rest(model_dir, tmp_path):
    f = write_articles(tmp_path / "articles.jsonl")
    out = tmp_path / "out.jsonl"
    rc, stdout, err = tasrih_in_process("classify", str(f), "--model", str(model_dir), "--skip-bad", "-o", str(out))
    assert (rc, stdout) == (0, ""), err
    assert err.splitlines() == [
        f"tasrih: skipped {f}:2: Expecting property name enclosed in double quotes",
        f'tasrih: skipped {f}:4: each line must be an object with a string "text"',
        f'tasrih: skipped {f}:5: "text" is empty',
    ]
    rows = read_jsonl(out)
    assert [(r["doc"], r["sentence_index"]) for r in rows] == [("a1", 0), ("a1", 1), ("a2", 0), ("a4", 0)]
    for doc in ("a1", "a2", "a4"):
        check_rows([r for r in rows if r["doc"] == doc], next(a["text"] for a in ARTICLES
                                                               if isinstance(a, dict) and a["id"] == doc))


def test_train_with_an_unreachable_hub_model_says_what_to_do(tmp_path, seed_splits):
    """The default config names AraBERT on the hub; offline, that is one clear line, not a traceback."""
    r = subprocess.run([sys.executable, "-m", "train.cli", "train", "model.name_or_path=no-such-org/no-such-model",
                        f"output_dir={tmp_path / 'run'}", *(f"data.{s}={p}" for s, p in seed_splits.items())],
                       capture_output=True, text=True, timeout=300, cwd=REPO, env={**ENV, "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()[-1]
    assert err.startswith("tasrih: error: no-such-org/no-such-model: cannot load the encoder (")
    assert err.endswith("offline, train model=tiny or model=baseline, or fetch no-such-org/no-such-model once "
                        "where the Hugging Face hub is reachable")
    assert "Traceback" not in r.stderr
