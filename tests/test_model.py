import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer

from infer.features import encode, spans_from_tags
from infer.labels import LABELS
from infer.model import TasrihConfig, TasrihModel
from infer.normalize import Normalizer
from infer.predict import Tasrih
from infer.text import split_words
from infer.torch_backend import TorchRunner


def make_model(tiny_bert) -> TasrihModel:
    config = TasrihConfig.from_pretrained(tiny_bert, id2label=dict(enumerate(LABELS)),
                                          label2id={v: k for k, v in enumerate(LABELS)})
    return TasrihModel.from_pretrained(tiny_bert, config=config).eval()


def test_save_pretrained_round_trip_gives_identical_logits(tiny_bert, tmp_path):
    model = make_model(tiny_bert)
    tok = AutoTokenizer.from_pretrained(tiny_bert)
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    restored = Tasrih.from_pretrained(tmp_path)
    assert restored.config.id2label == dict(enumerate(LABELS))
    batch = tok(["واتهمت الوزارة جبهة النصرة", "رحب المجلس بالاتفاق"], padding=True, return_tensors="pt")
    with torch.no_grad():
        a = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        b = restored.runner.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    for name in ("label_logits", "also_logits", "span_logits"):
        assert torch.equal(getattr(a, name), getattr(b, name))


def test_long_sentences_are_read_in_windows_not_truncated(tiny_bert):
    tok = AutoTokenizer.from_pretrained(tiny_bert)
    sentence = " ".join(["وقال الوزير إن المفاوضات مستمرة"] * 60)
    words, segments = encode(tok, Normalizer("basic"), [sentence], max_length=64)
    assert len(segments) > 1
    covered = sorted({w for s in segments for w in s.word_ids if w is not None})
    assert covered == list(range(len(words[0])))  # every word is read
    assert all(len(s.input_ids) <= 64 for s in segments)


decorated = st.text(alphabet=st.sampled_from(list("ابتجدرسعلمنوي «»،.") + ["\u064e", "\u0651", "\u0640",
                                                                           "\u200f", "😀", "\u0000"]),
                    min_size=1, max_size=80)


@settings(max_examples=200, deadline=None)
@given(decorated, st.data())
def test_spans_map_back_to_raw_text_through_normalisation(text, data):
    words = split_words(text)
    if not words:
        return
    tags = [data.draw(st.sampled_from(["O", "B-actor", "I-actor", "B-target"])) for _ in words]
    probs = [data.draw(st.floats(0.01, 1.0)) for _ in words]
    for role in ("actor", "target"):
        span = spans_from_tags(tags, probs, words, text, role)
        if span is not None:
            assert text[span["start"]:span["end"]] == span["text"]
            assert span["text"] == span["text"].strip()


def test_model_predictions_have_raw_offsets(tiny_bert):
    model = make_model(tiny_bert)
    model = Tasrih(model.config, AutoTokenizer.from_pretrained(tiny_bert), TorchRunner(model))
    text = "وأكّـــدَ الوزيرُ «سيرغي لافروف» رفضَ المقترح"
    row = model.predict([text])[0]
    assert set(row["scores"]) == set(LABELS)
    assert abs(sum(row["scores"].values()) - 1) < 1e-3
    for role in ("actor", "target"):
        if row[role]:
            assert text[row[role]["start"]:row[role]["end"]] == row[role]["text"]
