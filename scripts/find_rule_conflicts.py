"""List the records that the settled annotation rules may contradict (issue 10, part 3).

    python scripts/find_rule_conflicts.py            # reads data/{train,dev,test}.jsonl

A candidate finder for human re-reading: text patterns pick out records whose label or span may
break one of the rules of data/ADJUDICATION.md. It never changes a record. Each hit is printed and
written to data/annotation/review/rule_conflicts.jsonl as one object:

    {"id", "split", "rule", "field", "current", "why"}

`rule` is the ADJUDICATION.md number the hit may contradict, `field` the record field in doubt
(label, also, actor, target, actor_resolved) and `current` its value now. The decisions on the
hits go in data/annotation/review/rule_review.jsonl, written by a person reading each sentence in
its article.

Checks (ADJUDICATION.md numbers):
  20  contract awards (ترسية، رست) not labelled agreement, or labelled agreement while only
      "under tender"; an award whose contractor is named but not the target
  33  spans that keep an apposition (a comma, or a title after a name), or that drop the title
      directly before the name
  35  honorific pronouns (سموه، معاليه، فخامته، سماحته ...) used as actor or target spans
  37  an actor taken from inside a speaker's reported clause that states a position now
      (the speaker is the actor unless the clause reports the party's own act, 9.7)
  44  denial targets that are a venue (مواقع التواصل، وسائل الإعلام) or the agent of the denied event
  50  the writer's negation or dismissal: a dismissal word in the writer's voice labelled none, or
      a writer-voice denial with nothing said by a party to answer
  51  agreement resting only on a dated or identifying mention (بعد توقيع الاتفاق، التي تم التوافق
      عليها); a reported agreement (تم الاتفاق على) labelled none
  52  blaming participles (المتسبب في، المتورط في، المسؤول عن): inside a span, as the ground of a
      complaint or sanction labelled none, or as the only blame of an accusation
  53  an act the sentence contests (مزاعم، نفى أن يكون) counted as a claim; a spokesman's clause
      whose actor may be the spokesman or the group
  54  offers of one's own concession (عرض، أبدى استعداده، مستعد) counted as demand or agreement, or
      an offer with a return labelled none
  55  enforcement designations (wanted and terror lists, warrants) whose label does not follow
      whether the designation names a wrong
  56  illustrative comparisons (بعض الدول فرضت ...) in a sentence with a claim
  57  agreement with a decision whose issuer is named but is not the target
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

SPLITS = ("train", "dev", "test", "test_v1", "dev_v1", "dev_cue")

# ---- text normalisation for matching: drop tashkeel and tatweel, unify alef; keep a map back -----
_DROP = {chr(c) for c in range(0x064B, 0x0660)} | {"\u0670", "\u0640"}
_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا"})


def normalise(text: str) -> tuple[str, list[int]]:
    """The text without diacritics and with one alef, and for each of its characters the offset
    of that character in the raw text."""
    out, where = [], []
    for i, ch in enumerate(text):
        if ch in _DROP:
            continue
        out.append(ch.translate(_ALEF))
        where.append(i)
    where.append(len(text))
    return "".join(out), where


def n(s: str) -> str:
    return normalise(s)[0]


W = r"(?:^|(?<=[\s«\"“(،,:؛]))"   # start of a word (after space, quote, bracket or comma)
E = r"(?=$|[\s»\"”)،,.:؛!؟?])"       # end of a word

SPEECH = re.compile(W + r"[وف]?(?:قال|قالت|اكد|اكدت|اوضح|اوضحت|اعلن|اعلنت|اشار|اشارت|بين|بينت|بيّن|صرح|صرحت|اضاف|"
                    r"اضافت|كشف|كشفت|ذكر|ذكرت|افاد|افادت|لفت|لفتت|اعتبر|اعتبرت|شدد|شددت|تابع|تابعت)" + E)
COMP = re.compile(r"\s(?:ان|بان|انه|انها)\s|:|«|\"|“")
PAST_CLAIM = (r"(?:رفض|رفضت|رفضوا|وافق|وافقت|وافقوا|اقر|اقرت|اعتمد|اعتمدت|وقع|وقعت|وقعوا|طالب|طالبت|طالبوا|دعا|دعت|"
              r"اتهم|اتهمت|نفى|نفت|رحب|رحبت|استدعى|استدعت|قرر|قررت|حمل|حملت|ايد|ايدت|اشاد|اشادت|ثمن|ثمنت|قبل|قبلت|"
              r"تعهد|تعهدت|التزم|التزمت|صادق|صادقت|اتفق|اتفقت|توصل|توصلت|ناشد|ناشدت|حث|حثت|طلب|طلبت|وجه|وجهت|"
              r"ادان|ادانت|انتقد|انتقدت|استنكر|استنكرت|اعترف|اعترفت|منح|منحت|ابرم|ابرمت|رسى|رست|ارسى|ارست)")
SPOKES = re.compile(r"(?:المتحدث|الناطق|متحدث|ناطق)")
_PRESENT = re.compile(r"^[وف]?(?:س)?(?:لن|لا|سوف|(?:ي|ت|ن)(?!م$|مت$)\S{2,})$")



def is_present(token: str) -> bool:
    """A present or future verb (or لن/لا) by its form; past forms that also begin with ت or ن
    (تابعت، تقدم، نفت) are excluded as far as a pattern can tell."""
    tok = token.strip("«»\"“”،,.:")
    if not _PRESENT.match(tok) or tok.endswith(("ت", "وا")) or re.fullmatch("[وف]?" + PAST_CLAIM, tok):
        return False
    return not re.fullmatch(r"[وف]?(?:تقدم|تواصل|تعاون|تمكن|تبنى|تولى|تلقى|تسلم|تحدث|تطرق|تناول|تعهد|تحفظ)", tok)


DIRECTIVE_BEFORE = re.compile(r"(?:من|لتوجيهات|توجيهات|توجيه|لدعوة|بدعوة|طلب|لطلب|لمناشدة|قرار|لقرار|بقرار)\s*$")

HONORIFIC = re.compile(W + r"[وفبل]?(?:سموه|معاليه|فخامته|سماحته|سعادته|فضيلته|جلالته|دولته)" + E)
TITLE_WORDS = {
    "وزير", "الوزير", "امير", "الامير", "رئيس", "الرئيس", "مدير", "المدير", "محافظ", "المحافظ", "سفير",
    "السفير", "نائب", "امين", "الامين", "مستشار", "المستشار", "قائد", "عضو", "وكيل", "المتحدث", "الناطق",
    "مساعد", "متحدث", "ناطق", "استاذ", "استاذة", "عميد", "مؤسس", "رئيسة", "وزيرة", "مديرة",
}
PRE_NAME = {  # ranks and honorific titles that stand directly before a personal name
    "الدكتور", "الدكتورة", "د", "د.", "المهندس", "المهندسة", "الاستاذ", "الاستاذة", "الشيخ", "الامير",
    "الاميرة", "الملك", "اللواء", "العميد", "العقيد", "الفريق", "المقدم", "النقيب", "الرائد", "الجنرال",
    "الادميرال", "معالي", "سمو", "فضيلة", "سعادة", "فخامة", "سماحة", "القاضي", "القاضية", "المحامي",
    "الامام", "المشير", "السيد", "السيدة",
}
GIVEN_NAMES = {
    "محمد", "احمد", "عبدالله", "عبدالعزيز", "عبدالرحمن", "عبداللطيف", "عبدالاله", "خالد", "فهد", "فيصل", "سلمان",
    "سعود", "نايف", "علي", "عمر", "يوسف", "ابراهيم", "سعد", "ناصر", "حمد", "ماجد", "تركي", "مشعل", "بندر", "سلطان",
    "طلال", "عادل", "سامي", "صالح", "حسن", "حسين", "مصطفى", "محمود", "عثمان", "منصور", "سمير", "وليد", "ياسر",
}


def title_after_name(toks: list[str]) -> bool:
    """A title word that comes after a personal name in the span: after a given name, after بن/ابن/آل
    and the next word, or after a rank such as الدكتور and the name that follows it."""
    name_at = None
    for i, tok in enumerate(toks):
        if i and tok.startswith("و") and tok[1:] in TITLE_WORDS | PRE_NAME:
            name_at = None  # a coordinated title and name: a second party, not an apposition
            continue
        if name_at is not None and name_at + 1 < i < len(toks) - 1 and tok in TITLE_WORDS:
            return True
        if name_at is None and (tok in GIVEN_NAMES or tok in PRE_NAME - {"معالي", "سمو", "فضيلة", "سعادة",
                                                                          "فخامة", "سماحة"}):
            name_at = i if tok in GIVEN_NAMES else i + 1
        elif name_at is None and tok in {"بن", "ابن", "ال", "آل"} and i > 0:
            name_at = i
    return False


VENUE = re.compile(r"مواقع|التواصل|تويتر|فيسبوك|فيس بوك|يوتيوب|الانترنت|المنتديات|شبكات|وسائل الاعلام|"
                   r"هاشتاق|هاشتاغ|الاوساط|المجالس|الشارع")
DENY_AGENT = re.compile(r"(?:نفى|نفت|ينفي|تنفي|نفوا|نفي)\S*\s+(?:\S+\s+){0,8}?(?:قيام|ان يكون|ان تكون|ان يكونوا|"
                        r"تورط|وجود|مسؤولية|علاقة)")
CLAIMANT_CUE = re.compile(r"ما (?:اعلن|نشر|اورد|ذكر|تداول|نقل|صرح|قال|زعم|ادعى|روج)|ادعاءات|مزاعم|اتهامات|"
                          r"تصريحات|انباء|تقارير|اقوال")

AWARD = re.compile(W + r"[وف]?(?:ب|ل)?(?:ترسي[ةه]|ترسيت|رست|رسو|ارسى|ارست|ارساء)" + E)
TO_CONTRACTOR = re.compile(r"على\s+(?:شرك|مؤسس|تحالف|مقاول|مجموع)")

FALSE_WORDS = re.compile(r"غير منطقي|كاذب|اكاذيب|اكذوب|افتراء|مغالط|لا صحة|غير صحيح|عار[يٍ]? عن الصحة|عار من الصحة|"
                         r"ليس صحيح|لا اساس|باطل|مزعوم|اعذار|ذرائع|واهي|تضليل|مضلل|ادعاءات|زعم غير|هراء|"
                         r"مجرد (?:ادعاء|زعم|كلام)")
ATTRIBUTED = re.compile(r"روج|يروج|يقال|قيل|يزعم|زعم|يدعي|ادعى|يدعون|يردد|يتردد|اشيع|يشاع|ما نشر|تناقل|البعض|"
                        r"ما يطرح|يطرحه|يرى بعض|يعتقد بعض")
NEGATION = re.compile(W + r"[وف]?(?:ليس|ليست|لست|لسنا|لم|لن|لا|غير|ما)" + E)
DENIAL_VERB = re.compile(r"نفى|نفت|ينفي|تنفي|نفوا|رفض|يرفض|ترفض|رفضت|كذب|استبعد|تحفظ|لا صحة|عن الصحة|لن نقبل|لا نقبل")

AGREE_REF = re.compile(r"(?:بعد|قبل|منذ|عقب|اثر|حتى|بعيد)\s+(?:توقيع|التوقيع|ابرام|الاتفاق|اتفاق|التوصل)|"
                       r"(?:التي|الذي|اللتين|الذين)\s+(?:تم|جرى)\s+(?:التوافق|الاتفاق|التوقيع|توقيع)|"
                       r"المتفق عليه|المتفق عليها|المتوافق عليه|الموقع[ةه]?(?:\s|$)")
AGREE_MAIN = re.compile(W + r"[وف]?(?:(?:تم|جرى)\s+(?:الاتفاق|التوافق|التوقيع|توقيع|الموافقة)\s|اتفق\s+على|اتُّفق)")
RELATIVE = {"التي", "الذي", "اللتين", "الذين", "ما", "اللذين"}


def main_agreement(t: str) -> bool:
    """An agreeing or signing reported as an event (not inside a relative clause that identifies a text)."""
    for m in AGREE_MAIN.finditer(t):
        before = t[:m.start()].split()
        if not before or before[-1] not in RELATIVE:
            return True
    return False


PARTY_OF_AGREEMENT = re.compile(r"بين\s+\S+\s+و|(?:الطرفين|الطرفان|البلدين|البلدان|الجانبين|الجانبان)")

PARTICIPLE = re.compile(W + r"(?:[وبلف])?(?:ال|لل)(?:(?:متسبب|متسببة|متسببين|متسببون|متورط|متورطة|متورطين|متورطون|"
                        r"ضالع|ضالعة|ضالعين|مرتكب|مرتكبة|مرتكبي|مرتكبين)\s+(?:في|عن|ب\S+)|"
                        r"(?:مسؤول|مسؤولة|مسؤولين|مسؤولون|مسئول|مسئولة|مسئولين)\s+عن\s+(?!تقديم|ادار|متابع|تنظيم|توفير)|"
                        r"(?:متهم|متهمة|متهمين|متهمون)\s+ب(?!الندم)\S+)")
SANCTION = re.compile(r"شكوى|شكاوى|دعوى|دعاوى|غرام|غرم|اغلق|اغلاق|عقوب|محاسب|معاقب|مقاضا|احال|ضبط|القبض|محاكم|"
                      r"حكم|ملاحق|تحقيق|التحقيق")
ACCUSE_VERB = re.compile(r"اتهم|يتهم|تتهم|اتهام|حمل\S*\s+(?:\S+\s+){0,4}مسؤولي|يحمل|تحمل\S* مسؤولي|يقف وراء|تقف وراء|"
                         r"نسب|ادان|استنكر|انتقد")

CONTESTED = re.compile(r"مزاعم|ادعاءات|(?:^|\s)ادعاء|شائعات|شايعات|اشاعات|مزعوم|ما اشيع|ما يشاع|ما تردد|ما يتردد|"
                       r"(?:نفى|نفت|ينفي|تنفي|نفوا)\s+(?:\S+\s+){0,6}?(?:ان\s+(?:يكون|تكون|يكونوا)|وجود|قيام|صحة)")

OFFER = re.compile(W + r"[وف]?(?:(?:عرض|عرضت|عرضوا|يعرض|يعرضون)\s+(?:على|ان|تقديم|الانسحاب|التنازل|هدنة|وقف|الى|مبلغ|"
                   r"شراء|ضم)|(?:قدم|قدمت|تقدم|تقدمت)\s+(?:\S+\s+){0,2}?(?:بعرض|عرضا|عرض)\s)|"
                   r"استعداد(?:ه|ها|هم|نا|ي|كم)" + E + r"|" + W + r"مستعد(?:ون|ين|ة|ان)?" + E + r"|"
                   r"(?:نمد|يمد|مد|مددنا)\s+يد|" + W + r"(?:تنازل|تنازلات)" + E + r"|اقترح(?:ت|وا)?\s+(?:ان|على)")
BID = re.compile(r"(?:بعرض|عرضا|عرض)\s+(?:\S+\s+){0,3}?(?:ل|الى|على)?(?:ضم|شراء|التعاقد|استعار)")
RETURN = re.compile(r"مقابل|شرط|شريطة|بشرط|في حال")

DESIGNATION = re.compile(r"(?:قائم[ةه]|قوائم|لائح[ةه])\s+(?:\S+\s+){0,3}?(?:المطلوبين|مطلوبين|الارهاب|ارهابي|"
                         r"الارهابيين|ارهابيا|العقوبات|السوداء|الممنوعين|المحظورين)|(?:صنف|تصنيف)\S*\s+.{0,40}ارهابي|"
                         r"(?:ادرج|ادراج)\S*\s+.{0,60}(?:قائم|لائح)|" + W + r"[وف]?(?:مطلوب|مطلوبا|مطلوبين|مطلوبون|"
                         r"المطلوب|المطلوبين)\s+(?:امني|امنيا|للجهات|لدى|في قضايا|سعودي|سعوديا|للعدالة)|"
                         r"المطلوبين|مذكر[ةه]\s+(?:توقيف|اعتقال|قبض)|النشرة الحمراء|الانتربول")
WRONG = re.compile(W + r"(?:[وبلف]|ال|لل)*(?:ارهاب|تورط|تهم|جرائم|جريمة|جرائم|تفجير|تهريب|اغتيال|تمويل الارهاب)")

GENERIC = re.compile(r"بعض\s+(?:الدول|البلدان|الحكومات|المدن|دول|بلدان|الشركات العالمية)|"
                     r"(?:دول|بلدان|حكومات)\s+(?:كثيرة|عديدة|اخرى|متقدمة|العالم|غربية|اوروبية)|"
                     r"الدول\s+(?:المتقدمة|الاخرى|الغربية|المجاورة)|معظم\s+الدول|كثير\s+من\s+(?:الدول|البلدان)|"
                     r"في\s+الخارج|كما\s+(?:فعلت|تفعل|هو الحال)|على\s+غرار|اسوة\s+ب")
GENERIC_ACT = re.compile(r"(?:فرض|فرضت|تفرض|يفرض|اشترط|اشترطت|تشترط|الزم|الزمت|تلزم|منع|منعت|تمنع|طالب|طالبت|تطالب|"
                         r"اعتمد|اعتمدت|تعتمد|وقع|وقعت|رفض|رفضت|ترفض|اقر|اقرت|تقر|سنت|تسن|تسمح|حظر|حظرت|تحظر|دعت|تدعو)"
                         + E)

DECISION = re.compile(W + r"[وفبل]?(?:ال)?(?:قرار|قرارات)\s+(?!رقم|\d)(?P<issuer>\S+)")
ISSUER = re.compile(r"^[«\"“]|^(?:ال)?(?:مجلس|وزير|وزار|هيئ|حكوم|ادار|لجن|محكم|قاض|رئيس|اتحاد|برلمان|مفوضي|امم|"
                    r"جمعي|مؤتمر|ملك|خادم|امير|محافظ|جامع|فيفا|تحالف|امان|ناد|كونغرس|كونجرس|قضاء|نياب|تعليم|"
                    r"داخلي|خارجي|رئاس|ديوان|المجلس|معالي|سمو)")


def span_text(rec: dict, field: str) -> str | None:
    sp = rec.get(field)
    return sp["text"] if sp else None


def overlaps(sp: dict | None, start: int, end: int) -> bool:
    return bool(sp) and sp["start"] < end and start < sp["end"]


def checks(rec: dict) -> list[tuple[str, str, object, str]]:
    """(rule, field, current value, why) for every rule this record may break."""
    text = rec["text"]
    t, where = normalise(text)
    raw = lambda i: where[i]
    label, also = rec["label"], rec["also"]
    kinds = {label} | set(also)
    actor, target = rec["actor"], rec["target"]
    hits = []

    # 35: honorific pronouns as spans
    for field in ("actor", "target"):
        s = span_text(rec, field)
        if s and HONORIFIC.search(n(s)):
            hits.append(("35", field, rec[field], ("an honorific pronoun is a pronoun: span null, the name in "
                                                 "actor_resolved")))
    if rec["actor_resolved"] and HONORIFIC.fullmatch(n(rec["actor_resolved"]).strip()):
        hits.append(("35", "actor_resolved", rec["actor_resolved"], ("actor_resolved is an honorific pronoun, "
                                                                    "not a name")))

    # 33: appositions kept in a span, or a title dropped before the name
    for field in ("actor", "target"):
        sp = rec[field]
        if not sp:
            continue
        s = n(sp["text"])
        toks = s.split()
        if "،" in s or "," in s:
            hits.append(("33", field, sp, "the span keeps an apposition set off by a comma"))
        elif title_after_name(toks):
            hits.append(("33", field, sp, "a title after a name is an apposition, left out of the span"))
        before = n(text[:sp["start"]]).split()
        if before and before[-1] in PRE_NAME and not sp["text"].startswith(("«", "\"")):
            hits.append(("33", field, sp, f"the title «{before[-1]}» directly before the name is left out"))

    # 37 / 53: whose claim is a speaker's reported clause
    if actor:
        for m in SPEECH.finditer(t):
            c = COMP.search(t, m.end())
            if not c:
                continue
            verb_at, comp_at = raw(m.start()), raw(c.start())
            if comp_at - verb_at > 260:
                continue
            speaker = n(text[verb_at:comp_at])
            nxt = SPEECH.search(t, m.end())
            clause_end = raw(nxt.start()) if nxt else len(text)
            rule = "53" if SPOKES.search(speaker) else "37"
            if comp_at < actor["start"] < clause_end:
                before_actor = n(text[max(comp_at, actor["start"] - 30):actor["start"]])
                after = n(text[actor["end"]:actor["end"] + 45]).split()
                prev = n(text[comp_at:actor["start"]]).split()
                if DIRECTIVE_BEFORE.search(before_actor):
                    break  # a narrated directive or request inside the clause (14, 40)
                # A position stated now (present or future verb next to the party) is where 37 and 9.7
                # part: the speaker is the actor if it is his own side's position. A past act is 9.7.
                now = (after and is_present(after[0])) or (prev and is_present(prev[-1]))
                if now:
                    hits.append((rule, "actor", actor, ("the actor is a party inside the speaker's clause, which "
                                                       "states a position now: if it is the speaker's own side, the "
                                                       "speaker is the actor (37, 53)")))
                break
            if verb_at <= actor["start"] < comp_at:
                clause = t[c.end():c.end() + 90] if c.end() < len(t) else ""
                m2 = re.match(r"\s*((?:\S+\s+){1,4}?)(?:قد\s+)?" + PAST_CLAIM + E, clause)
                if m2 and not re.search(r"(?:^|\s)(?:الذي|التي|الذين|اللذين|ما|من)\s", " " + m2.group(1)):
                    hits.append((rule, "actor", actor, ("the speaker is the actor, but his clause may report another "
                                                       "party's own past act (9.7)")))
                break

    # 44: venues and agents of the denied event as denial targets
    if label == "denial" and target:
        if VENUE.search(n(target["text"])):
            hits.append(("44", "target", target, "a place where a claim circulates is not the claimant"))
        else:
            m = DENY_AGENT.search(t)
            if m and raw(m.start()) < target["start"] and not CLAIMANT_CUE.search(
                    n(text[raw(m.start()):target["start"]])):
                hits.append(("44", "target", target, ("the target may be the agent of the denied event, not the "
                                                     "party that made the claim")))

    # 20: contract awards
    if AWARD.search(t):
        if "agreement" not in kinds:
            hits.append(("20", "label", label, "awarding a contract is agreement"))
        elif "تحت الطرح" in t:
            hits.append(("20", "label", label, "projects only under tender, with no award, are none"))
        elif label == "agreement" and target is None and TO_CONTRACTOR.search(t):
            hits.append(("20", "target", None, "the contractor the award goes to may be the target"))

    # 50: the writer's negation or dismissal
    writer = actor is None and rec["actor_resolved"] is None
    if label == "none" and not also and not SPEECH.search(t) and (
            FALSE_WORDS.search(t) or (NEGATION.search(t) and ATTRIBUTED.search(t))):
        hits.append(("50", "label", label, ("the writer may dismiss or negate a claim that someone made: denial "
                                           "(12, 50)")))
    elif label == "denial" and writer and not FALSE_WORDS.search(t) and not ATTRIBUTED.search(t) \
            and not DENIAL_VERB.search(t):
        hits.append(("50", "label", label, ("a plain negation in the writer's voice that answers nobody is none "
                                           "(10, 50)")))

    # 51: agreement with no party
    if "agreement" in kinds and AGREE_REF.search(t) and not main_agreement(t):
        hits.append(("51", "label" if label == "agreement" else "also", label if label == "agreement" else also,
                     "the agreement may rest on a mention that only dates or identifies it (بعد توقيع، التي تم "
                     "التوافق عليها): none unless its parties are named"
                     + ("" if not PARTY_OF_AGREEMENT.search(t) else "; parties may be named")))
    elif "agreement" not in kinds and main_agreement(t):
        hits.append(("51", "label", label, ("an agreement reported as an event of the story is agreement, actor null "
                                           "(51, 36)")))

    # 52: blaming participles
    for m in PARTICIPLE.finditer(t):
        a, b = raw(m.start()), raw(m.end())
        in_span = [f for f in ("actor", "target") if overlaps(rec[f], a, b)]
        for f in in_span:
            hits.append(("52", f, rec[f], ("the span holds a participle that states the blame; the span is the head "
                                          "noun")))
        if in_span:
            break
        if label == "none" and not also and SANCTION.search(t):
            hits.append(("52", "label", label, ("the participle may be the ground of a complaint or sanction: "
                                               "accusation (27, 43, 52)")))
            break
        if label == "accusation" and not SANCTION.search(t) and not ACCUSE_VERB.search(t):
            hits.append(("52", "label", label, ("the only blame may be a participle inside a noun phrase: background, "
                                               "none (28, 52)")))
            break

    # 53: contested acts
    if CONTESTED.search(t) and kinds & {"agreement", "demand"}:
        field = "label" if label in ("agreement", "demand") else "also"
        hits.append(("53", field, label if field == "label" else also,
                     "an act the sentence presents as alleged or denied is no narrated act of its party"))
    elif CONTESTED.search(t) and label == "none" and not also:
        hits.append(("53", "label", label, ("a contested allegation: the denial, or the allegation's blame, may be "
                                           "a claim")))

    # 54: offers
    if OFFER.search(t):
        if kinds & {"demand", "agreement"}:
            field = "label" if label in ("demand", "agreement") else "also"
            hits.append(("54", field, label if field == "label" else also,
                         "an offer of one's own act is none unless it asks something back or answers a request"))
        elif RETURN.search(t) or BID.search(t):
            field = "label" if label == "none" else "also"
            hits.append(("54", field, label if field == "label" else also,
                         "an offer with a return, a condition or a bid asks something of another party: demand"))

    # 55: enforcement designations
    if DESIGNATION.search(t):
        wrong = WRONG.search(t)
        if wrong and "accusation" not in kinds:
            hits.append(("55", "label", label, "a designation that names a wrong is accusation"))
        elif not wrong and "accusation" in kinds:
            field = "label" if label == "accusation" else "also"
            hits.append(("55", field, label if field == "label" else also,
                         "a designation or wanted status that names no wrong is none"))

    # 56: illustrative comparisons
    for m in GENERIC.finditer(t):
        if GENERIC_ACT.search(t[m.end():m.end() + 90]) or GENERIC_ACT.search(t[max(0, m.start() - 40):m.start()]):
            a = raw(m.start())
            spans = [f for f in ("actor", "target") if overlaps(rec[f], a, raw(m.end()))]
            if spans:
                for f in spans:
                    hits.append(("56", f, rec[f], "the party is the generic party of a comparison"))
            elif label != "none" or also:
                hits.append(("56", "label", label, "a comparison cited as an example may have been counted as a claim"))
            break

    # 57: the target of an agreement with a decision
    if "agreement" in kinds:
        for m in DECISION.finditer(t):
            if not ISSUER.search(m.group("issuer")):
                continue
            a = raw(m.start("issuer"))
            if overlaps(actor, a, a + 1):
                continue  # the actor's own decision
            if target is None or not (a - 2 <= target["start"] <= a + 3 or overlaps(target, a, a + 1)):
                hits.append(("57", "target", target, ("the target of an agreement with a decision is its issuer, "
                                                     "named here")))
            break
    return hits


def load(data: Path) -> list[tuple[str, dict]]:
    out = []
    for split in SPLITS:
        with open(data / f"{split}.jsonl", encoding="utf-8") as f:
            out += [(split, json.loads(line)) for line in f if line.strip()]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--out", type=Path, default=Path("data/annotation/review/rule_conflicts.jsonl"))
    ap.add_argument("--quiet", action="store_true", help="print the counts only")
    args = ap.parse_args()

    rows = []
    for split, rec in load(args.data):
        for rule, field, current, why in checks(rec):
            rows.append({"id": rec["id"], "split": split, "rule": rule, "field": field,
                         "current": current, "why": why})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if not args.quiet:
        for r in rows:
            cur = r["current"]["text"] if isinstance(r["current"], dict) else r["current"]
            print(f"{r['rule']:>3} {r['split']:<5} {r['id']:<40} {r['field']:<14} {cur!s:<30} {r['why']}")
    counts = Counter(r["rule"] for r in rows)
    print(f"\n{len(rows)} hits in {len({r['id'] for r in rows})} records -> {args.out}")
    for rule in sorted(counts, key=int):
        print(f"  rule {rule}: {counts[rule]}")


if __name__ == "__main__":
    main()
