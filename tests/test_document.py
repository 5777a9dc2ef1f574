"""What a row gains from its document: the resolved actor and its code (ANNOTATION.md 4, issue 11 C)."""

from infer.document import DocumentContext


def pred(text: str, label: str, actor: str | None = None) -> dict:
    """A prediction as the models return it, the actor span where ``actor`` occurs in ``text``."""
    span = None
    if actor:
        i = text.index(actor)
        span = {"start": i, "end": i + len(actor), "text": actor}
    return {"text": text, "label": label, "scores": {label: 1.0}, "also": [], "actor": span, "target": None,
            "windows": 1}


def test_a_speaker_named_in_the_sentence_wins_over_an_earlier_one():
    """Seed article rows 2-5: the sentences that name their speaker keep it; only pro-drop carries over."""
    ctx = DocumentContext("seed")
    rows = [ctx.row(p) for p in [
        pred("وتجنب بيان أصدرته الخارجية الروسية الإشارة إلى طلب كيري، وقالت مصادر روسية إن", "demand",
             "مصادر روسية"),
        pred("وقال بيان الخارجية أن الوزيرين ركزا على أهمية تعزيز الهدنة", "demand", "الوزيرين"),
        pred("وشدد على أهمية أن تقوم تشكيلات المعارضة المعتدلة بإعلان انفصالها", "demand"),  # pro-drop
        pred("وأضافت الوزارة أن القنصلية أوقفت عملها.", "none"),  # no claim: resolves nothing, changes nothing
        pred("في غضون ذلك، أعلن غاتيلوف أن روسيا لن تضغط على الأسد", "denial", "غاتيلوف"),
        pred("ورفض الطلب الأميركي.", "denial"),  # pro-drop again: the latest named speaker
    ]]
    assert [r["actor_resolved"] for r in rows] == ["مصادر روسية", "الوزيرين", "الوزيرين", None, "غاتيلوف",
                                                   "غاتيلوف"]
    assert [r["actor"] and r["actor"]["text"] for r in rows] == ["مصادر روسية", "الوزيرين", None, None,
                                                                  "غاتيلوف", None]
    assert [r["sentence_index"] for r in rows] == list(range(6))


def test_nothing_named_before_leaves_the_actor_unresolved():
    ctx = DocumentContext("d")
    assert ctx.row(pred("ونفى ذلك.", "denial"))["actor_resolved"] is None


def test_documents_do_not_share_their_actors():
    first = DocumentContext("a")
    first.row(pred("نفى الوزير ذلك.", "denial", "الوزير"))
    assert DocumentContext("b").row(pred("ونفى ذلك.", "denial"))["actor_resolved"] is None


def test_shipped_model_keeps_every_actor_it_finds_in_the_seed_article():
    """With the real shipped model: whenever the sentence has an actor span, it is the resolved actor.

    Rows 3 and 5 of the seed article show a carried-over actor because the model finds no actor span
    there (its span tagger tags every word O), not because the document context overrides one.
    """
    from infer.predict import Tasrih
    from tests.conftest import SEED_TEXT

    rows = list(Tasrih.from_pretrained().classify_text(SEED_TEXT.read_text(encoding="utf-8"), doc="seed"))
    assert len(rows) == 12
    for r in rows:
        if r["actor"] is not None:
            assert r["actor_resolved"] == r["actor"]["text"]
