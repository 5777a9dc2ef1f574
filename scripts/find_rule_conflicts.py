"""List the records that the settled annotation rules may contradict (issue 10, part 3; round 2).

    python scripts/find_rule_conflicts.py                      # every rule, data/*.jsonl
    python scripts/find_rule_conflicts.py --rules 58-74 --out data/annotation/review/rule_conflicts_round2_new.jsonl
    python scripts/find_rule_conflicts.py --rules 20,50-57     # only these rules

A candidate finder for human re-reading: text patterns pick out records whose label or span may
break one of the rules of data/ADJUDICATION.md. It never changes a record. Each hit is printed and
written to --out (default data/annotation/review/rule_conflicts.jsonl) as one object:

    {"id", "split", "rule", "field", "current", "why"}

`rule` is the ADJUDICATION.md number the hit may contradict, `field` the record field in doubt
(label, also, actor, target, actor_resolved) and `current` its value now. The decisions on the
hits go in data/annotation/review/rule_review*.jsonl, written by a person reading each sentence in
its article. `--rules` takes numbers and ranges (58-74, 60,64,71); without it every rule is run.

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
Round 2 rules, one check function each (check_58 ... check_74):
  58  an act of approval (past اعتمد، أقرّ، صادق على; تم/جرى اعتماد، بعد إقرار) with no agreement;
      an agreement resting only on اعتمد على (rely on); a demand where a text is only forwarded
      for approval (رُفع إلى ... لاعتماده). Admissions (أقر بأن), future and present forms, and verbal
      nouns that narrate no act are left out
  59  an agreement resting only on a name with one party (الاتفاق النووي مع إيران، اتفاق إيران
      النووي) and no agreeing verb; an agreement whose other side is identified (اتفاقها مع،
      الاتفاق الذي أبرمته ... مع، اتفاق بين X و) with no agreement
  60  an arrest, detention, referral or charge (اعتقل، القبض، أحال، وجّه تهمة) with a charge stated
      nearby (بتهمة، للاشتباه، بتورط، على خلفية ...) and no accusation; an accusation resting on an
      arrest with no charge and no wrong named anywhere
  61  a claim in a clause at the head of the sentence (بطلب من، تلبية لدعوة، بتوجيه من، بعد اتهام)
      whose kind is not the label
  62  a stated need (بحاجة إلى، نحتاج، ما أحوج، أمس الحاجة) with no demand; a demand resting only on
      a need beside a cost
  63  a claim sentence with no attribution that continues (كما، وكذلك، ولم يقف ...) the account of the
      speaker of the sentence before, whose actor_resolved is null
  64  the punishment formula («تحذر ... كل من تسول له نفسه ...») labelled demand
  65  an honorific epithet (الكريم، المفدى، حفظه الله) inside a span; a relation noun or المدعو
      left out before a name; a party named only by an adjective (الاجتياح الأمريكي، المبادرة
      الإيرانية) while the target (or the actor of a claim noun) is null
  66  an agreement resting only on support or commitment words with no backed effort, position or
      decision in sight; support for a party's effort, position, decision or plan with no agreement
  67  استبعد as the only denial cue of a denial (forecast? squad?); استبعد of a proposal, option,
      claim or report (فكرة، خيار، احتمال، ما تردد) with no denial
  68  responsibility as a duty (مسؤولية كبرى، مسؤولية حماية، على عاتق) with no demand, or labelled
      accusation; responsibility for a harm done (مسؤولية الهجوم، ما جرى) with no accusation
  69  an apology with no agreement; a refusal to apologise with no denial; اعتذر عن المشاركة (declining)
      with no denial; an apology labelled agreement with no target
  70  an activity whose stated purpose urges an action (لدعوة غير المسلمين، لحث، للتعريف بأهمية) with no
      demand; a demand resting only on an activity's name (جولات دعوية، حملة توعوية)
  71  quotation marks inside a span, or a span that cuts a round bracket; an agreement whose actor is
      followed by a quotation mark and و + another party, with a null target
  72  a reply that names the claim it answers inside its clause (نفى ما أعلنه، قال ... حول التصريح:
      غير صحيح) labelled with the answered claim first; a reply preceded by «ردا على ...» labelled
      with the reply first
  73  an attack with its agent on people or places, or called a crime, in a sentence with a source,
      and no accusation; an accusation resting only on an attack among armed forces (operations)
  74  a sentence that is a question, or whose claim is future or forecast (سيطالب، سيتم توقيع، من
      المتوقع أن يوقع), labelled with a claim; a question or future remark labelled none that
      narrates a claim act as done (الذين دعموا)
  77  carrying out an order or an authority's decision (تنفيذاً لـ، إنفاذاً لـ، ينفذ أمر) not labelled
      demand, or with agreement in also; an order named by its adjective (للتوجيه السامي) that is not
      the actor span of a demand
  75  agreement or denial in a sentence with a description of alignment (الدول الداعمة للمعارضة،
      المدعومة من الغرب، الذين يعارضون الحرب): it may only say which side a party is on
  79  a denial with no word of denial or refusal (نفى، رفض، كذب، مزاعم، استبعد ...): it may be a
      confirmation, a vindication or a negation that answers nobody
Rules of the re-annotation round (88-95):
  88  a claim with a null actor or target in a sentence with a bare demonstrative (هؤلاء، أولئك)
  89  a span that starts with a number right after a hedge (نحو، حوالي، أكثر من) it leaves out
  90  a span that ends in a bracketed short name after the name («... (حماس)»)
  93  a demand (label or also) in a sentence with a prayer formula (اللهم، نسأل الله، سائلا المولى)
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from annotations import SPLITS


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



# ---- round 2 rules (ADJUDICATION.md 58-74): one check function per rule ----------------------------
# Each takes the record, its text normalised (t) with the map back to raw offsets (where), and the
# record before it in the same article (prev, or None); it returns (rule, field, current, why) hits.

def kinds_of(rec: dict) -> set[str]:
    return {rec["label"]} | set(rec["also"])


def field_for(rec: dict, kind: str) -> tuple[str, object]:
    """The field a missing or doubtful claim kind belongs to: the label when it is none (or is that
    kind), else also."""
    if rec["label"] in ("none", kind):
        return "label", rec["label"]
    return "also", rec["also"]


FUTURE_BEFORE = re.compile(r"(?:سيتم|لن|سوف|سيجري|ستتم|المتوقع|المقرر|المنتظر|يتوقع|يعتزم|تعتزم|ينوي|تنوي|لم يتم|لن يتم)"
                           r"\s+(?:\S+\s+){0,2}$")
AGREE_CUE = re.compile(r"اتفق|اتفاق|توافق|وافق|موافق|رحب|ترحيب|يرحب|ترحب|ايد|تاييد|يؤيد|تؤيد|مؤيد|وقع|توقيع|ابرم|"
                       r"قبل|قبول|صادق|مصادق|اقر|اعتمد|اعتماد|اشاد|ثمن|تثمين|التزام|التزم|ملتزم|تعاقد|ترسي|رست|تلبي|"
                       r"استجاب|استجابة|اعترف|اعتذر|اعتذار|دعم|يدعم|تدعم|ندعم|مساند|يساند|تساند|تبنى|شراك|تحالف|"
                       r"انضم|انضمام|بايع|مبايعة|هنا|تهنئة|بارك|يبارك|اعجاب|تقدير|شكر|امتنان|عقد|صفقة|تفاهم")

# 58: approval verbs. The reliance sense (اعتمد على) and admissions (أقر بـ, 23) are told apart by what
# follows; a text only forwarded for approval is procedure.
APPROVE = re.compile(W + r"[وفل]?(?:ب|ل)?(?:اعتمد|اعتمدت|اعتمدوا|اعتمده|اعتمدها|اعتمادها|اعتماده|اعتماد|الاعتماد|يعتمد|"
                     r"تعتمد|اقر|اقرت|اقروا|اقره|اقرها|اقرار|الاقرار|اقرارها|اقراره|يقر|تقر|صادق|صادقت|صادقوا|"
                     r"المصادقة|مصادقة|يصادق|تصادق)" + E)
RELY_AFTER = re.compile(r"^\s*(?:\S+\s+){0,1}?(?:على|عليه|عليها|عليهم|عليهما|اعتمادا|بشكل|بصورة|كليا|اساسا|بدرجة)"
                        r"(?:\s|$)")
ADMIT_AFTER = re.compile(r"^\s*(?:ب\S+|ان|انه|انها|بان)(?:\s|$)")
FORWARD = re.compile(r"(?:رفع|رفعت|ترفع|يرفع|رفعها|رفعه|الرفع|برفع|رفعتها|احال|احالة|احالتها|احالته)\S*\s+(?:\S+\s+){0,8}?"
                     r"(?:ل|الى\s+)(?:اعتماد|الاعتماد|اعتمادها|اعتماده|اقرار|اقرارها|اقراره|المصادقة|الموافقة|المصادقه)")


MASDAR_ACT = re.compile(r"(?:^|\s)[وف]?(?:تم|جرى|وتم|وجرى|بعد|عقب|اثر|اثناء|خلال)\s+$")


def approval_senses(t: str) -> tuple[list[re.Match], list[re.Match]]:
    """Approval-verb matches in the approval sense and in the reliance sense. Admissions (أقر بـ, 23),
    future approvals (9.5), present forms (habit or rule) and verbal nouns that narrate no act
    (اعتماد التغيير as an item asked for, تمهيدا لاعتمادها) are in neither."""
    approve, rely = [], []
    for m in APPROVE.finditer(t):
        word, after = m.group(0).strip(), t[m.end():m.end() + 40]
        stem = re.sub(r"^[وفل]?(?:ب|ل)?", "", word)
        if ("عتمد" in word or "عتماد" in word) and RELY_AFTER.match(after):
            rely.append(m)
            continue
        if stem.startswith(("ي", "ت")) and not stem.startswith("تم"):
            continue  # a present form: a standing rule or a habit
        if stem.startswith(("صادق", "يصادق", "تصادق")) and not re.match(r"\s*(?:على|عليه|عليها|عليهم)(?:\s|$)", after):
            continue  # صادق as a name or an adjective (صادق المواساة)
        if "اقر" in stem and ADMIT_AFTER.match(after):
            continue  # an admission (23)
        if stem.startswith(("اعتماد", "الاعتماد", "اقرار", "الاقرار", "المصادقة", "مصادقة")) and not (
                MASDAR_ACT.search(t[max(0, m.start() - 12):m.start() + 1]) or re.match(r"[وف]?ب", word)):
            continue  # a verbal noun that narrates no act
        if FUTURE_BEFORE.search(t[max(0, m.start() - 40):m.start()]):
            continue  # a future approval (9.5)
        approve.append(m)
    return approve, rely


def check_58(rec, t, where, prev):
    hits = []
    approve, rely = approval_senses(t)
    kinds = kinds_of(rec)
    if approve and "agreement" not in kinds:
        field, cur = field_for(rec, "agreement")
        hits.append(("58", field, cur, (f"«{approve[0].group(0).strip()}» as an act of approval is agreement, even of the "
                                        "actor's own plan; target the party whose submission is approved, else null")))
    elif rely and not approve and "agreement" in kinds and not AGREE_CUE.search(APPROVE.sub(" ", t)):
        field = "label" if rec["label"] == "agreement" else "also"
        hits.append(("58", field, rec[field], ("اعتمد على (rely on, use) is not approval: none unless another "
                                               "claim makes the agreement")))
    if FORWARD.search(t) and "demand" in kinds:
        field = "label" if rec["label"] == "demand" else "also"
        hits.append(("58", field, rec[field], ("forwarding a text to a body for approval is procedure, not a request: "
                                               "the demand may rest on it")))
    return hits


# 59: an agreement named with one party only
AGREEMENT_NOUN = (r"(?:ال)?(?:اتفاق|اتفاقية|اتفاقيه|معاهدة|معاهده|صفقة|صفقه|اتفاقيات|شراكة|شراكه|مذكرة تفاهم|"
                  r"مذكرات تفاهم|هدنة|هدنه)")
ONE_PARTY = re.compile(W + r"[وفبل]?" + AGREEMENT_NOUN + r"(?:\s+(?:النووي|النهائي|الاطاري|الجديد|الجديدة|المبرم|"
                       r"الموقع|الموقعة|التجاري|الامني|المرتقب|التاريخي))?\s+مع\s+\S+|"
                       + W + r"[وفبل]?(?:ال)?(?:اتفاق|اتفاقية)\s+(?!بين)\S+\s+(?:النووي|النووية)")
AGREE_VERB = re.compile(W + r"[وفل]?(?:س)?(?:اتفق|اتفقت|اتفقوا|يتفق|تتفق|وافق|وافقت|وافقوا|يوافق|توافق|الموافقة|موافقة|رحب|"
                        r"رحبت|يرحب|ترحب|ترحيب\S*|ايد|ايدت|يؤيد|تؤيد|تاييد\S*|وقع|وقعت|وقعا|وقعوا|يوقع|توقع|توقيع\S*|"
                        r"ابرم|ابرمت|ابرما|ابرام|قبل|قبلت|يقبل|تقبل|قبول|صادق|صادقت|المصادقة|اقر|اقرت|اعتمد|اعتمدت|"
                        r"اشاد|اشادت|ثمن|ثمنت|التزم|التزمت|التزامه|التزامها|التزامهم|ملتزم\S*|توصل|توصلت|توصلا|توصلوا|"
                        r"التوصل|تعاقد|تعاقدت|التعاقد|انضم|انضمت|انضمام|دعم|يدعم|تدعم|ندعم|دعمه|دعمها|ساند|يساند)" + E)
OTHER_SIDE = re.compile(r"(?:اتفاق|اتفاقية|صفقة|شراكة|معاهدة|هدنة)(?:ها|ه|هم|نا|هما|ي)\s+مع|"
                        r"(?:ابرمته|ابرمها|ابرمتها|وقعته|وقعها|وقعتها|وقعوه|ابرموه|عقدته|عقدتها)\s+(?:\S+\s+){0,3}?مع\s|"
                        + AGREEMENT_NOUN + r"\s+(?:\S+\s+){0,3}?بين\s+\S+(?:\s+\S+)?\s+و")


def check_59(rec, t, where, prev):
    hits = []
    kinds = kinds_of(rec)
    if "agreement" in kinds and ONE_PARTY.search(t) and not AGREE_VERB.search(t) and not OTHER_SIDE.search(t):
        field = "label" if rec["label"] == "agreement" else "also"
        hits.append(("59", field, rec[field], ("an agreement named with one party only («الاتفاق النووي مع إيران») is "
                                               "its name, a topic: none unless the other side is identified")))
    elif "agreement" not in kinds and OTHER_SIDE.search(t):
        field, cur = field_for(rec, "agreement")
        hits.append(("59", field, cur, ("an agreement whose other side is identified (a possessive, or both parties) "
                                        "is agreement in any clause (9.1, 59)")))
    return hits


# 60: arrests, detentions, referrals and charges
ARREST = re.compile(W + r"[وفبل]?(?:اعتقل\S*|اعتقال\S*|القبض|قبض|احتجز\S*|احتجاز\S*|توقيف\S*|اوقف(?:ت|وا|ته|تهم|ه|هم)?|"
                    r"احال(?:ت|وا|ته|تهم|ه|هم)?|احالة|باحالة|لاحالة|احالتهم|احالته|اسر(?:ت|وا)?|يحاكم|محاكمة\S*|"
                    r"سجن(?:ه|هم|ت)?|ايداع\S*|اودع\S*|ملاحقة|مداهمة\S*|داهم\S*|اتهم(?:ت|وا|ته|تهم|ه|هم)?|"
                    r"وجه(?:ت|وا)?\s+(?:\S+\s+)?(?:تهم|تهمة|اتهام|الاتهام|اتهامات))" + E)
CHARGE = re.compile(r"بتهم|تهمة|تهمه|بشبه|للاشتباه|لاشتباه|اشتبه|يشتبه|بتورط|لتورط|بضلوع|لضلوع|بالضلوع|بسبب|لقيام|"
                    r"بقيام|بعد قيام|اثناء قيام|خلال قيام|عند قيام|بجريم|بجرائم|بارتكاب|لارتكاب|لانتمائ|بالانتماء|"
                    r"بالتخابر|بالتجسس|بالتحريض|بتهريب|لتهريب|بحيازة|لحيازة|بالاعتداء|بالتخطيط|بتمويل|بقضي|في قضي|"
                    r"على خلفية|لتنفيذ|بتنفيذ|بالترويج|لترويج|بترويج|بسرقة|لسرقة|بقتل|لقتل|بمحاولة|لمحاولة|بتزوير|"
                    r"لتزوير|بالاحتيال|بالنصب|لمخالفت|بمخالفة|بانتحال|بالتهريب|متلبس")
OTHER_BLAME = re.compile(r"اتهم|يتهم|تتهم|حمل\S*\s+(?:\S+\s+){0,4}مس[ؤئ]ولي|يحمل|تحمل\S* مس[ؤئ]ولي|يقف وراء|تقف وراء|نسب|"
                         r"ادان|ادانت|يدين|تدين|استنكر|انتقد|زعم|مزاعم|ارهاب|مجرم|جريمة|جرائم|اعتد|قصف|هاجم|هجوم|"
                         r"انتهاك|خرق|عدوان|مخالف|غرام|غرم|مسؤول عن|مسؤولية")


WRONG_WORD = re.compile(r"اتهام|الاتهام|تحقيق|يحقق|مذنب|ادين|ادان|فساد|رشو|رشا|اختلاس|تزوير|سرق|مخدر|تحرش|اغتصاب|تفجير|"
                        r"قتل|اغتيال|خطف|تعذيب|ضرب|تهريب|احتيال|ابتزاز|تسلل|مخالف|جنائي|الجناة|جاني|ارهاب")


def check_60(rec, t, where, prev):
    hits = []
    kinds = kinds_of(rec)
    arrests = [m for m in ARREST.finditer(t)]
    if not arrests:
        return hits
    charged = any(CHARGE.search(t[m.start():m.end() + 150]) or CHARGE.search(t[max(0, m.start() - 60):m.start()])
                  for m in arrests)
    if charged and "accusation" not in kinds:
        field, cur = field_for(rec, "accusation")
        hits.append(("60", field, cur, ("an arrest, detention, referral or charge with the charge stated is accusation, "
                                        "named or not; target the people held")))
    elif not charged and "accusation" in kinds and not OTHER_BLAME.search(t) and not WRONG_WORD.search(t):
        field = "label" if rec["label"] == "accusation" else "also"
        hits.append(("60", field, rec[field], ("an arrest or charge with no charge stated (or only an offender noun) "
                                               "is none")))
    return hits


# 61: the first claim in the words of the sentence, a background clause included
BACKGROUND = {
    "demand": re.compile(r"بطلب من|بناء على طلب|بناءا على طلب|بناء على توجيه|بتوجيه\S* من|بتوجيهات|تنفيذا لتوجيه|تنفيذاً لتوجيه|"
                         r"بدعوة من|بدعوة كريمة|بدعوة (?:رسمية )?من|وفق توجيهات|وفقا لتوجيهات|حسب توجيهات|بامر من"),
    "agreement": re.compile(r"تلبية لدعوة|تلبيه لدعوة|استجابة ل|بموافقة|بعد موافقة|عقب موافقة|بعد مصادقة|بعد اعتماد|"
                            r"عقب اعتماد|بمباركة|بعد توقيع\S* (?:\S+\s+){0,3}?(?:بين|مع)|بعد اتفاق\S* (?:\S+\s+){0,2}?(?:بين|مع)"),
    "accusation": re.compile(r"في اعقاب اتهام|بعد اتهام|عقب اتهام|اثر اتهام|على خلفية اتهام|بعد ان اتهم|عقب ادانة"),
}


def check_61(rec, t, where, prev):
    hits = []
    head = t[:90]
    for kind, rx in BACKGROUND.items():
        m = rx.search(head)
        if m and rec["label"] != kind:
            hits.append(("61", "label", rec["label"], (f"a {kind} in a clause at the head of the sentence («{m.group(0)}») is "
                                                       "the first claim in its words: the label, the main point in also "
                                                       "(61, 9.1)")))
            break
    return hits


# 62: need is necessity
NEED = re.compile(W + r"[وف]?(?:بحاج[ةه]|في حاج[ةه]|نحتاج|ونحتاج|الحاج[ةه] (?:الماسة|الملحة)|حاج[ةه] (?:ماسة|ملحة)|"
                  r"ما احوج|اشد الحاج[ةه]|امس الحاج[ةه]|بامس الحاج[ةه])" + E)
COST = re.compile(r"تكلف|تكاليف|تكلفة|مليار|مليون|ريال|دولار|ميزاني|استثمار|ساعات|ايام|دقائق|سنوات|اشهر")


def check_62(rec, t, where, prev):
    hits = []
    kinds = kinds_of(rec)
    m = NEED.search(t)
    if m and "demand" not in kinds:
        field, cur = field_for(rec, "demand")
        hits.append(("62", field, cur, (f"«{m.group(0).strip()}»: a stated need for an action or for support is demand; "
                                        "none only when it explains a cost or a process")))
    elif m and rec["label"] == "demand" and COST.search(t) and not re.search(
            r"طالب|دعا|دعت|يدعو|تدعو|حث|ناشد|ضرور|يجب|لا بد|لابد|اهمي|ينبغي|طلب", t):
        hits.append(("62", "label", "demand", ("the only call may be a need that explains a cost or a process: none")))
    return hits


# 63: a sentence that continues a speaker's account
CONTINUES = re.compile(r"^[«\"“(]?\s*(?:كما|وكما|وكذلك|كذلك|ولم يقف|ولم تقف|اضافة|واضافة|بالاضافة|علاوة|فضلا|ومن ذلك|"
                       r"ومنها|ومن بينها|وايضا|ايضا|و(?:ثانيا|ثالثا|رابعا|خامسا)|(?:ثانيا|ثالثا|رابعا|خامسا)|[-–•*]|\d+\s*[-.)])")


def check_63(rec, t, where, prev):
    hits = []
    if prev is None or rec["label"] == "none" or rec["actor"] is not None or rec["actor_resolved"] is not None:
        return hits
    if SPEECH.search(t) or not CONTINUES.match(t):
        return hits
    if prev["actor_resolved"] and prev["label"] != "none":
        hits.append(("63", "actor_resolved", None, (f"the sentence continues the account of «{prev['actor_resolved']}» "
                                                    "in the sentence before: actor null, actor_resolved the speaker")))
    return hits


# 64: the punishment formula of execution statements
WARN_FORMULA = re.compile(r"(?:تحذر|يحذر|حذر|حذرت|محذر|محذرة)\S*\s+(?:\S+\s+){0,8}?(?:كل من|من)\s+تسول")
OWN_CALL = re.compile(r"تهيب|يهيب|ليحذر|تدعو|يدعو|تطالب|يطالب|تناشد|تحث|يجب")


def check_64(rec, t, where, prev):
    kinds = kinds_of(rec)
    if WARN_FORMULA.search(t) and "demand" in kinds:
        field = "label" if rec["label"] == "demand" else "also"
        why = "a warning that only states the punishment («كل من تسول له نفسه ...») is a threat, none"
        if OWN_CALL.search(t):
            why += "; the statement may also tell people what to do in its own words (demand)"
        return [("64", field, rec[field], why)]
    return []


# 65: adjective-only parties, words before a name, honorific epithets
EPITHET = re.compile(r"(?:^|\s)(?:الكريم|الكريمة|الكريمه|المعظم|المفدى|الموقر|الموقرة|حفظه الله|يحفظه الله|رعاه الله|"
                     r"ايده الله|حفظها الله|حفظهم الله|يرعاه الله|سلمه الله)(?:\s|$)")
RELATION_BEFORE = {"المدعو", "المدعوة", "المدعوين", "شقيقه", "شقيقها", "شقيقهم", "شقيق", "شقيقة", "شقيقته", "ابنه",
                   "ابنها", "نجله", "نجلها", "نجل", "زوجته", "زوجها", "زوجة", "والده", "والدها", "والدة", "والدته",
                   "ابنته", "ابنة", "اخيه", "اخوه", "اخته", "عمه", "خاله", "صهره", "حفيده", "ابن عمه", "ابناء"}
NATION = (r"ال(?:امري[كك]|اميرك|روس|ايران|اسرائيل|صهيون|سوري|ترك|سعودي|قطر|مصر|عراق|يمن|حوث|فلسطين|امارات|بريطان|فرنس|"
          r"الماني|صين|اوروب|امم|خليج|غرب|باكستان|هند|افغان|لبنان|اردن|كويت|بحرين|عمان|ليب|سودان|تونس|جزائر|مغرب|"
          r"يابان|كوري|اثيوب|صومال|اسبان|ايطال|هولند|سويد|نرويج|كند|استرال|برازيل|ارجنتين|مكسيك|فنزويل|كوب|"
          r"اوكران|بلجيك|سويسر|نمسا|بولند|يونان|قبرص|تشاد|مال|نيجير|اثيوب|ارتير|اريتر|اذرب|ارمن|جورج|اوزبك|"
          r"كازاخ|قرغيز|طاجيك|تركمان|بنغال|سريلانك|ماليز|اندونيس|فلبين|تايلند|فيتنام|بورم|نيبال|سنغاف)\S*(?:ي|ية|يه|يين|يون)")
ACT_NOUN = (r"(?:العدوان|الاحتلال|الاجتياح|التدخل|التدخلات|القصف|الغزو|الهجوم|الهجمات|الاعتداء|الاعتداءات|الغارات|"
            r"الانتهاكات|الممارسات|الطيران|الدعم|الجهود|الموقف|المواقف|المبادرة|المقترح|الطلب|الرفض|الاتهامات|المزاعم|"
            r"العرض|القرار|الجانب|الطرف|المطالب|المطالبات|الضغوط|التصعيد|التهديدات|التحركات|العمليات|الحملة|الضربات|"
            r"الحصار|المشروع|الدعوة|الدعوات|الاستفزازات|الجرائم|المجازر|التوغل|النفي|الموافقة|التاييد|الترحيب|"
            r"الاصرار|التعنت|الانتقادات|المساعدات|التعاون|الوساطة|الرد|الاحتجاج|الاحتجاجات|التحذير|التحذيرات)")
ADJ_PARTY = re.compile(W + r"[وفبل]?" + ACT_NOUN + r"\s+(" + NATION + r")" + E)
CLAIM_ACT_NOUN = re.compile(r"الموقف|المواقف|المبادرة|المقترح|الطلب|الرفض|الاتهامات|المزاعم|العرض|القرار|المطالب|"
                            r"المطالبات|الدعوة|الدعوات|النفي|الموافقة|التاييد|الترحيب|الانتقادات|الاحتجاج|التحذير")


def check_65(rec, t, where, prev):
    hits = []
    text = rec["text"]
    for field in ("actor", "target"):
        sp = rec[field]
        if not sp:
            continue
        if EPITHET.search(re.sub(r"(?:عبد|القران)\s+الكريم", "", n(sp["text"]))):
            hits.append(("65", field, sp, ("an honorific epithet (الكريم، حفظه الله) after a complete designation is "
                                           "left out of the span")))
        before = n(text[:sp["start"]]).split()
        if before and before[-1].strip("«\"“(") in RELATION_BEFORE and not n(sp["text"]).startswith(("المدعو",)):
            hits.append(("65", field, sp, f"«{before[-1]}» directly before the name belongs to the span, like a title"))
    if rec["label"] != "none":
        for m in ADJ_PARTY.finditer(t):
            a, b = where[m.start(1)], where[m.end(1)]
            if overlaps(rec["actor"], a, b) or overlaps(rec["target"], a, b):
                break
            noun = m.group(0)
            if rec["target"] is None and rec["label"] in ("accusation", "agreement", "demand", "denial"):
                hits.append(("65", "target", None, (f"«{m.group(1)}» in «{noun.strip()}» may name the party only by an "
                                                    "adjective: the adjective is the span")))
                break
            if rec["actor"] is None and CLAIM_ACT_NOUN.search(noun):
                hits.append(("65", "actor", None, (f"«{m.group(1)}» in «{noun.strip()}» may name the claimant only by an "
                                                   "adjective: the adjective is the span")))
                break
    return hits


# 66: support and commitment
SUPPORT = re.compile(W + r"[وفبل]?(?:دعم|يدعم|تدعم|ندعم|دعمه|دعمها|دعمهم|دعمنا|دعمت|دعموا|الدعم|ودعم|مساند\S*|يساند|"
                     r"تساند|ساند|ساندت|التزام|التزامها|التزامه|التزامهم|التزامنا|الالتزام|ملتزم\S*|تضامن\S*|"
                     r"يتضامن|وقوف\S*|تقف|يقف|نقف|وقفت|وقف)" + E)
SUPPORT_OBJ = re.compile(r"(?:دعم|يدعم|تدعم|ندعم|دعمه|دعمها|دعمهم|دعمنا|دعمت|دعموا|مساند\S*|تاييد\S*|يؤيد|تؤيد|ايد|ايدت)\s+"
                         r"(?:\S+\s+){0,2}?(?:ل)?(?:جهود|موقف|مواقف|قرار|قرارات|مبادر|خط[ةه]|مساعي|سياس[ةه]|سياسات|"
                         r"توجه|توجهات|مطالب|مقترح|ترشيح)")
FUNDING = re.compile(r"مالي|ريال|دولار|مليون|مليار|تمويل|قرض|قروض|منح|ميزاني|المشاريع|مشروع|الانتاج|المحلي|المنتج|"
                     r"الاسعار|الاقتصاد|السوق|الطلب|الاستثمار|الاسهم|المؤشر|النفط|اللوجستي|الفني|الطبي|الدعم الفني")


def check_66(rec, t, where, prev):
    hits = []
    kinds = kinds_of(rec)
    support = SUPPORT.search(t) or SUPPORT_OBJ.search(t)
    if not support:
        return hits
    if "agreement" in kinds and not AGREE_CUE.search(SUPPORT.sub(" ", t)) and not SUPPORT_OBJ.search(t):
        field = "label" if rec["label"] == "agreement" else "also"
        hits.append(("66", field, rec[field], ("the agreement rests on support or commitment only: agreement when it backs "
                                               "a party or its position, plan, decision, effort or act (target that party); "
                                               "none for a principle or for a step one's own body has still to decide")))
    elif "agreement" not in kinds and SUPPORT_OBJ.search(t) and not re.search(r"بدعم\s+من", t) and not FUNDING.search(
            t[SUPPORT_OBJ.search(t).start():SUPPORT_OBJ.search(t).end() + 40]):
        field, cur = field_for(rec, "agreement")
        hits.append(("66", field, cur, ("support for a party's effort, position, decision or plan is agreement, target "
                                        "that party")))
    return hits


# 67: استبعد
ISTABAD = re.compile(W + r"[وفل]?(?:استبعد|استبعدت|استبعدوا|استبعدا|يستبعد|تستبعد|نستبعد|يستبعدون|استبعاد\S*|باستبعاد\S*|"
                     r"مستبعد\S*|استبعده|استبعدها|استبعدته)" + E)
OTHER_DENIAL = re.compile(r"نفى|نفت|ينفي|تنفي|نفوا|نفي|رفض|يرفض|ترفض|كذب|تحفظ|لا صحة|عن الصحة|لن نقبل|لا نقبل|لن يقبل|"
                          r"غير صحيح|لا اساس|امتنع|عار من|مزاعم|باطل|ليس صحيحا|لن تقبل|ينكر|انكر|تنكر|دحض|فند")
SQUAD = re.compile(r"اللاعب|لاعب|التشكيل|تشكيل[ةه]|القائم[ةه]|قائم[ةه]|المدرب|مدرب|المنتخب|الفريق|الحارس|المباراة|"
                   r"مباراة|البطولة|المهاجم|المدافع|الاصابة|اصابة|من الدوري|من المشاركة")
PUT_FORWARD = re.compile(r"فكر[ةه]|خيار|احتمال|فرضي[ةه]|اقتراح|مقترح|طلب|ما تردد|ما يتردد|انباء|تقارير|ما ذكر|ما اشيع|"
                         r"ما يشاع|توقعات|تكهنات|ما نشر|ما قيل|ما يقال|التقديرات|سيناريو|ذلك|هذا|هذه|امكانية|امكاني[ةه]")


def check_67(rec, t, where, prev):
    hits = []
    m = ISTABAD.search(t)
    if not m:
        return hits
    kinds = kinds_of(rec)
    squad = SQUAD.search(t)
    if "denial" in kinds and not OTHER_DENIAL.search(t):
        field = "label" if rec["label"] == "denial" else "also"
        why = ("استبعد is denial only when it rules out a claim, estimate, option or proposal someone put forward; "
               "ruling out an event nobody claimed is a forecast, none")
        if squad:
            why += "; leaving a player out is none"
        hits.append(("67", field, rec[field], why))
    elif "denial" not in kinds and not squad and PUT_FORWARD.search(t[m.end():m.end() + 60]):
        field, cur = field_for(rec, "denial")
        hits.append(("67", field, cur, ("استبعد may rule out a claim, option or proposal that someone put forward: "
                                        "denial, target that party")))
    return hits


# 68: responsibility: blame for a harm done, or a duty
RESP = re.compile(r"(?:ال)?مس[ؤئ]ولي(?:[ةه]|ات|ته|تها|تهم|اتها|اته|اتهم|تنا|اتنا)|مس[ؤئ]ول(?:ون|ين)?\s+عن|على عاتق")
RESP_SKIP = re.compile(r"(?:تبنى|تبنت|تبني|يتبنى|اعلن|اعلنت|اعلنوا|اعلان)\s+(?:\S+\s+){0,4}?مس[ؤئ]ولي|"
                       r"المس[ؤئ]ولي[ةه] الاجتماعي|مس[ؤئ]ولي[ةه] اجتماعي|(?:تولى|تولت|يتولى|تتولى|تولي|توليه|توليها)\s+"
                       r"(?:\S+\s+){0,2}?مس[ؤئ]ولي")
DUTY = re.compile(r"مس[ؤئ]ولي\S*\s+(?:\S+\s+)?(?:كبرى|كبيرة|كبيره|عظيمة|جسيمة|تاريخية|مشتركة|جماعية|وطنية|اخلاقية|دينية|"
                  r"شرعية|انسانية)|مس[ؤئ]ولي\S*\s+(?:\S+\s+)?(?:حماية|توفير|ضمان|الحفاظ|حفظ|مكافحة|تحقيق|متابعة|تطبيق|"
                  r"انجاح|رعاية|تنفيذ|اتخاذ|العمل|القيام|التصدي|معالجة|ايجاد|حل|انقاذ|تامين|الدفاع|صون|وقف|منع|"
                  r"الحد|توعية|تربية|بناء|اعادة|دعم|مساعدة)|على عاتق|يلقي\S*\s+(?:\S+\s+)?(?:بال)?مس[ؤئ]ولي|"
                  r"مس[ؤئ]ول(?:ون|ين)?\s+عن\s+(?:مكافحة|حماية|توفير|ضمان|الحفاظ|تحقيق|متابعة|تطبيق|رعاية|تنفيذ|"
                  r"التصدي|معالجة|منع|الحد|تربية)")
HARM = re.compile(r"مس[ؤئ]ولي\S*\s+(?:\S+\s+)?(?:عن\s+|في\s+)?(?:ما\s|الهجوم|الهجمات|الحادث|مقتل|قتل|تدهور|الفشل|فشل|"
                  r"الجريم|الجرائم|التفجير|الانفجار|الاعتداء|الفوضى|الازم|الخسائر|الكارث|التصعيد|انهيار|تردي|"
                  r"الوضع|الاوضاع|الدماء|سقوط|استمرار|تعطيل|عرقل|اي\s|كل\s|تبعات|عواقب|نتائج|تداعيات|ما حدث|ما جرى|"
                  r"اعمال|افعال|الانتهاكات|المجزر|الحرب|الدمار|تاخر|التاخير|التقصير|الاخطاء|الخطا|وفا[ةه]|مقتل)")
LAY = re.compile(r"حمل|يحمل|تحمل|حملت|تحميل|حملوا|يتحمل|تتحمل|يتحملون|تحملت|مس[ؤئ]ول(?:ون|ين|ة)?\s+عن")


def check_68(rec, t, where, prev):
    hits = []
    if not RESP.search(t) or RESP_SKIP.search(t):
        return hits
    kinds, label = kinds_of(rec), rec["label"]
    duty, harm = DUTY.search(t), HARM.search(t)
    if duty and not harm and "demand" not in kinds:
        field, cur = field_for(rec, "demand")
        hits.append(("68", field, cur, ("responsibility laid on a party for what it should do is a duty: demand, "
                                        "target the party that bears it")))
    elif harm and LAY.search(t) and "accusation" not in kinds:
        field, cur = field_for(rec, "accusation")
        hits.append(("68", field, cur, "responsibility for a harm done is accusation"))
    elif harm and not duty and label == "demand" and "accusation" not in kinds:
        hits.append(("68", "also", rec["also"], ("the responsibility may be for a harm already done: accusation "
                                                 "(with the demand)")))
    elif duty and not harm and label == "accusation":
        hits.append(("68", "label", label, ("the responsibility may be a duty for what a party should do, with no harm "
                                            "blamed: demand")))
    return hits


# 69: apologies
APOLOGY = re.compile(r"(?:^|[\s«\"“(])[وفبل]?(?:ال)?(?:اعتذ|يعتذ|تعتذ|نعتذ|معتذ|اعتذار)ر?\S*")
DECLINE = re.compile(r"اعتذ\S*\s+(?:\S+\s+)?عن\s+(?:عدم\s+)?(?:المشارك|الحضور|حضور|المشاركه|تلبي|قبول|الترشح|الاستمرار|"
                     r"اللعب|التدريب|السفر|المجيء|القدوم|التعليق|الرد|الظهور|خوض|مواصل|تدريب|قياد|تولي|العمل|"
                     r"المهم[ةه]|المنصب)")
REFUSE_APOLOGY = re.compile(r"(?:رفض|يرفض|ترفض|رفضت|رفضوا|لن|لم|لا)\s+(?:\S+\s+){0,2}?(?:ال)?(?:اعتذار|يعتذر|تعتذر|نعتذر|الاعتذار)")


def check_69(rec, t, where, prev):
    hits = []
    if not APOLOGY.search(t):
        return hits
    kinds = kinds_of(rec)
    if REFUSE_APOLOGY.search(t) and "denial" not in kinds:
        field, cur = field_for(rec, "denial")
        hits.append(("69", field, cur, "refusing to apologise refuses the request for an apology: denial"))
    elif DECLINE.search(t):
        if "denial" not in kinds:
            field, cur = field_for(rec, "denial")
            hits.append(("69", field, cur, ("«اعتذر عن» may decline an invitation or request (another sense of the word): "
                                            "denial of the request, not an apology")))
    elif "agreement" not in kinds:
        field, cur = field_for(rec, "agreement")
        hits.append(("69", field, cur, ("an apology to the party wronged is agreement, target that party; a courtesy "
                                        "apology that answers no complaint is none")))
    elif rec["target"] is None and rec["label"] == "agreement":
        hits.append(("69", "target", None, ("an apology labelled agreement with no target: the party apologised to, or "
                                            "none if it is a courtesy apology")))
    return hits


# 70: outreach and awareness activities
PURPOSE_CALL = re.compile(W + r"(?:ل|بهدف\s+|بغرض\s+|من اجل\s+|الهادف[ةه]? (?:الى|ل)\s*|تهدف (?:الى|ل)\s*)"
                          r"(?:دعو[ةه](?!\s+(?:من|كريم))|حث|حض|تشجيع|التعريف\s+باهمي|تعريف\S*\s+باهمي|توعي[ةه]\S*\s+"
                          r"(?:باهمي|بضرور|بخطور)|تحفيز|ترغيب|التوعي[ةه]\s+(?:باهمي|بضرور|بخطور)|حثهم|حثها|تشجيعهم|"
                          r"دعوتهم|دعوتها)")
ACTIVITY_ONLY = re.compile(r"جولات دعوي|جولة دعوي|مكتب الدعو|المكتب التعاوني للدعو|حمل[ةه] توعوي|حملات توعوي|محاضر|ندو[ةه]|"
                           r"ندوات|ورش[ةه]|الدعوة والارشاد|توعوي|التوعي[ةه]|برنامج دعوي|برامج دعوي|الانشط[ةه] الدعوي")
DEMAND_CUE = re.compile(r"طالب|يطالب|تطالب|مطالب|دعا|دعت|يدعو|تدعو|دعوا|حث|حثت|يحث|تحث|ناشد|يناشد|ضرور|يجب|لا بد|لابد|"
                        r"اهمي|ينبغي|طلب|يهيب|تهيب|حذر|يحذر|تحذر|اوصى|توصي|يوصي|وجه|توجيه|اقترح|بحاج|الحاج[ةه]|نامل|"
                        r"نتمنى|اتمنى|تمنى|على الجميع|على المواطنين|عليهم|عليكم|لدعو|لحث|للتعريف باهمي|التعريف باهمي|"
                        r"تشجيع|يشجع|تشجع|شجع|حض|دعو[ةه] (?:الى|ال|ل)")


def check_70(rec, t, where, prev):
    hits = []
    kinds = kinds_of(rec)
    m = PURPOSE_CALL.search(t)
    if m and "demand" not in kinds:
        field, cur = field_for(rec, "demand")
        hits.append(("70", field, cur, (f"an activity whose stated purpose urges an action («{m.group(0).strip()}») is "
                                        "demand; the activity's name alone is none")))
    elif "demand" in kinds and ACTIVITY_ONLY.search(t) and not DEMAND_CUE.search(t):
        field = "label" if rec["label"] == "demand" else "also"
        hits.append(("70", field, rec[field], ("the demand may rest on the name of an outreach or awareness activity "
                                               "alone, with no action urged: none")))
    return hits


# 71: quotation marks and round brackets in spans; coordinations split by a quotation mark
QUOTES = "«»\"“”„'‘’"


def check_71(rec, t, where, prev):
    hits = []
    text = rec["text"]
    for field in ("actor", "target"):
        sp = rec[field]
        if not sp:
            continue
        if any(q in sp["text"] for q in QUOTES):
            hits.append(("71", field, sp, "a span never contains a quotation mark (32, 71)"))
        if sp["text"].count("(") != sp["text"].count(")"):
            hits.append(("71", field, sp, "the span cuts a round bracket: keep the bracket whole inside the span (71)"))
    actor = rec["actor"]
    if rec["label"] == "agreement" and actor and rec["target"] is None and re.match(
            r"^[»\"”']\s*و\s*[«\"“]?\S", text[actor["end"]:actor["end"] + 6]):
        hits.append(("71", "target", None, ("two agreeing parties split by a quotation mark: the first is the actor, the "
                                            "other the target (71)")))
    return hits


# 72: a reply that names the claim it answers
CLAIM_REF = re.compile(r"ما (?:اعلن|نشر|اورد|ذكر|تداول|قال|زعم|ادعى|ادعت|اثير|يثار|يتردد|تردد|اشيع|يشاع|تناقل|ادلى|روج|"
                       r"يروج|اتهم|نسب|وصف|صرح)|اتهامات|الاتهامات|اتهام|مزاعم|ادعاءات|ادعاء|تصريحات|التصريح|تصريح|"
                       r"انباء|الانباء|تقارير|التقارير|اقوال|الكلام|هذا الكلام|ما جاء|رواي[ةه]|شائعات|اشاعات")
REPLY = re.compile(r"نفى|نفت|ينفي|تنفي|نفوا|كذب|غير صحيح|لا صحة|لا اساس|عن الصحة|من الصحة|باطل|رفض|يرفض|ترفض|رفضت|"
                   r"استنكر|دحض|فند|ليس سوى|مجرد|اكاذيب|افتراء|مغالط|تضليل")
ANSWER_FIRST = re.compile(r"(?:و)?(?:ردا|رداً|وردا|تعليقا|تعقيبا)\s+على|في رد\S*\s+على|في معرض رد\S*|ردا منه على|"
                          r"ردا منها على")


def check_72(rec, t, where, prev):
    hits = []
    label, also = rec["label"], rec["also"]
    ref = CLAIM_REF.search(t)
    if not ref:
        return hits
    if label in ("accusation", "demand", "agreement") and "denial" in also:
        starts = [m.start() for m in (SPEECH.search(t), REPLY.search(t)) if m]
        colon = t.find(":")
        if 0 < colon < 60 and colon < ref.start():
            starts.append(colon)
        first = min(starts) if starts else None
        lead = ANSWER_FIRST.search(t)
        if first is not None and first < ref.start() and not (lead and lead.start() < first):
            hits.append(("72", "label", label, ("the reply names the claim it answers inside its own clause: the reply "
                                                "(denial) is the label, the answered claim in also")))
    elif label in ("denial", "agreement") and also:
        lead = ANSWER_FIRST.search(t)
        reply = REPLY.search(t) or SPEECH.search(t)
        if lead and reply and lead.start() < reply.start() and lead.start() <= ref.start():
            hits.append(("72", "label", label, ("the answered claim is narrated before the reply's clause begins («"
                                                f"{lead.group(0)}»): it comes first, the reply in also")))
    return hits


# 73: attacks reported by a party
ATTACK = re.compile(r"قصف|استهدف|هاجم|هجوم|هجمات|شن\S*\s+(?:\S+\s+){0,2}?(?:غار|هجوم|هجمات|قصف)|غارات|غارة|دمر|تدمير|"
                    r"قتل|اطلق\S*\s+(?:النار|قذائف|صواريخ|صاروخ|الرصاص)|اعتد|اقتحم|اقتحام|فجر|تفجير|احرق|احراق|"
                    r"قنص|مجزر|مذبح|براميل|البراميل|قذائف|القذائف")
# an attack with its agent: a past active verb of the agent, or an attack noun tied to the agent
ATTACK_ACT = re.compile(W + r"[وف]?(?:قصفت|قصفوا|استهدفت|استهدفوا|هاجمت|هاجموا|شنت|شنوا|دمرت|دمروا|قتلت|قتلوا|"
                        r"اطلقت|اطلقوا|اعتدت|اعتدوا|اقتحمت|اقتحموا|فجرت|فجروا|احرقت|احرقوا|قصف|استهدف|هاجم|شن|دمر|"
                        r"اعتدى|اقتحم|فجر|احرق|ارتكبت|ارتكبوا|ارتكب)" + E + r"|"
                        r"(?:قصف|غارات|غارة|هجوم|هجمات|قذائف|براميل|صواريخ|اعتداء\S*|اقتحام|قنص|مجزر[ةه]|مجازر)\s+"
                        r"(?:\S+\s+){0,3}?(?:نفذها|شنها|شنته|نفذه|نفذته|ارتكبها|ارتكبته|من قبل|ل?قوات|ل?طيران|ل?ميليشي|"
                        r"ل?مليشي|ل?النظام|ل?الحوثي|ل?داعش|ل?الجيش|ل?الاحتلال|ل?التحالف|ل?المسلحين|ل?مسلحين)")
PLACES = re.compile(W + r"[وبلف]?(?:ال)?(?:مدنيين|مدنيا|مدني|المدنية|منازل|منزل|قرى|قري[ةه]|بلد[ةه]|البلدتين|بلدات|احياء|"
                    r"حي|مسجد|مساجد|مدرس[ةه]|مدارس|مستشفى|مستشفيات|مركز\S*\s+(?:للشرطة|الشرطة|امني)|اهالي|سكان|"
                    r"نساء|اطفال|مصلين|مخيم|سكني[ةه]|ابرياء|مدين[ةه]|مدن|الاسواق|سوق|مواطنين|مواطنا|عائلات|"
                    r"النازحين|لاجئين|المعتصمين|المتظاهرين|متظاهرين)" + E)
CRIME = re.compile(r"جريم[ةه]|جرائم|مجزر|مجازر|مذبح|خرق\S*\s+(?:\S+\s+)?(?:الهدن|وقف اطلاق|التهدئ)|انتهاك|"
                   r"عدوان|العدوان|وحشي|همجي|اجرامي")
SOURCE = re.compile(SPEECH.pattern + r"|المصادر|مصادر|مصدر|ناشط|المرصد|شهود|شاهد|وفقا|حسب|بحسب|نقلا عن|"
                    r"المتحدث|الناطق|متحدث|ناطق|بيان|اتهم|افاد|يقول|تقول")
OPERATIONS = re.compile(r"مواقع|اوكار|تجمعات|معاقل|معسكر|تحصينات|اليات|آليات|تصدت|تصدى|صد هجوم|صد\s|احبط|معارك|معركة|"
                        r"اشتباك|مواجهات|تمكنت|تمكن|سيطر|دحر|مخازن|منصات|مقاتلي|عناصر|مسلحي|قوات|تعزيزات")


def check_73(rec, t, where, prev):
    hits = []
    kinds = kinds_of(rec)
    act = ATTACK_ACT.search(t)
    if act and "accusation" not in kinds and SOURCE.search(t):
        near = t[max(0, act.start() - 80):act.end() + 120]
        if PLACES.search(near) or CRIME.search(near):
            field, cur = field_for(rec, "accusation")
            hits.append(("73", field, cur, ("an attack that a party or its source says another party made on people or "
                                            "places, or calls a crime, is accusation, target the attacker")))
    if rec["label"] == "accusation" and ATTACK.search(t) and not PLACES.search(t) and not CRIME.search(t) \
            and OPERATIONS.search(t) and not OTHER_BLAME.search(ATTACK.sub(" ", t)) and not ACCUSE_VERB.search(t):
        hits.append(("73", "label", "accusation", ("the attack may be a report of operations or of fighting between "
                                                   "armed forces: none")))
    return hits


# 74: questions, forecasts and future claims
QUESTION = re.compile(r"[؟?][!»\"”)\s.]*$")  # the sentence is a question
FUTURE_CLAIM = re.compile(W + r"[وف]?(?:(?:س|سوف\s+)(?:ي|ت|ن)(?:طالب|دعو|رفض|وافق|وقع|تهم|نفي|حث|ناشد|قبل|ؤيد|رحب|عتمد|قر|"
                          r"صادق|طلب|تفق|برم|لتزم|عتذر)\S*|(?:سيتم|سوف يتم|سيجري|ستتم)\s+(?:توقيع|التوقيع|اعتماد|الاتفاق|"
                          r"اقرار|المصادقة|رفض|الموافقة|مطالبة|دعوة|ابرام|التعاقد|توجيه|اتهام)|"
                          r"(?:المتوقع|المقرر|المنتظر|يتوقع|يعتزم|تعتزم|ينوي|تنوي|يرجح)\s+(?:ان\s+)?(?:ي|ت)(?:طالب|دعو|"
                          r"رفض|وافق|وقع|تهم|نفي|حث|قبل|رحب|عتمد|قر|صادق|طلب|تفق|برم)\S*)")
DONE_IN_FRAME = re.compile(r"(?:الذي|التي|الذين|اللذين)\s+(?:قد\s+)?" + PAST_CLAIM + r"|(?:بعد|منذ)\s+(?:ان\s+)?" + PAST_CLAIM)
FRAME = re.compile(r"[؟?]|(?:س|سوف\s+)(?:ي|ت)(?:شير|ؤكد|قول|علن|ضيف|وضح|طرح|بحث|ناقش)")


def check_74(rec, t, where, prev):
    hits = []
    label = rec["label"]
    if label != "none":
        q, f = QUESTION.search(t), FUTURE_CLAIM.search(t)
        if q:
            hits.append(("74", "label", label, ("a question is none; only acts it narrates as done or ongoing count "
                                                "(13, 74)")))
        elif f:
            hits.append(("74", "label", label, (f"«{f.group(0).strip()}» is a future or forecast claim, none; only acts "
                                                "narrated as done count (9.5, 74)")))
    elif not rec["also"] and FRAME.search(t) and DONE_IN_FRAME.search(t):
        hits.append(("74", "label", label, ("a question or future remark that narrates an act as done: the act still "
                                            "counts (74)")))
    return hits


# 77: carrying out an order is the issuer's demand; an order named by its adjective is the actor span.
CARRY_OUT = re.compile(r"(?:تنفيذا|تنفيذاً|إنفاذا|إنفاذاً|انفاذا|امتثالا|امتثالاً)\s*(?:ل|لل)|ينفذ أمر|نفذ أمر|نفّذ أمر")
ORDER_ADJ = re.compile(r"لل(?:توجيه|توجيهات|أمر|أوامر|امر|اوامر)\s+(?:السامي|السامية|الملكي|الملكية)")


def check_77(rec, t, where, prev):
    hits = []
    text, label = rec["text"], rec["label"]
    carry, adj = CARRY_OUT.search(text), ORDER_ADJ.search(text)
    if carry and label != "demand":
        hits.append(("77", "label", label, (f"«{carry.group(0).strip()}»: carrying out an order or an authority's "
                                            "decision is the issuer's demand, first in the sentence (77, 61)")))
    elif carry and "agreement" in rec["also"]:
        hits.append(("77", "also", rec["also"], "carrying out an order adds no agreement (77)"))
    if adj and label == "demand" and not overlaps(rec["actor"], adj.start(), adj.end()):
        hits.append(("77", "actor", rec["actor"], (f"«{adj.group(0)}» names the issuer only by the order's adjective: "
                                                  "it is the actor span (77, 65)")))
    return hits


# 75: support, opposition or praise that only describes a party (a participle, or a relative clause,
# of alignment) is background, not agreement or denial.
ALIGN_DESC = re.compile(W + r"(?:ال)?(?:داعم|مؤيد|معارض|مناهض|رافض|موال|مساند)(?:[ةه]|ين|ون|ات)?\s+(?:ل|لل)\S+|"
                        + W + r"(?:ال)?مدعوم(?:[ةه]|ين|ون)?\s+من" + E + "|"
                        + W + r"(?:الذين|التي|الذي|اللذين|اللتين|اللذان)\s+(?:ي|ت)(?:عارض|ؤيد|دعم|ناهض|رفض|ساند)\S*")


def check_75(rec, t, where, prev):
    kinds = kinds_of(rec) & {"agreement", "denial"}
    m = ALIGN_DESC.search(t)
    if not (kinds and m):
        return []
    kind = sorted(kinds)[0]
    field = "label" if rec["label"] == kind else "also"
    return [("75", field, rec[field], (f"«{m.group(0).strip()}» may only say which side a party is on: no {kind} "
                                       "unless the sentence asserts or narrates that support or opposition (75)"))]


# 79: a party's negation is denial only when it answers a claim, report, request or proposal someone
# made; a denial with none of the usual words of denial or refusal may be a confirmation, a
# vindication or a negation that answers nobody.
DENIAL_WORD = re.compile(r"نف[ىيت]|ينف|تنف|نفي|نفو|رفض|يرفض|ترفض|كذب|تكذيب|دحض|فند|مزاعم|ادعاء|غير صحيح|لا صح[ةه]|"
                         r"عار[ٍ]? عن|ليس صحيح|يعارض|تعارض|عارض|معارض|رافض|استبعد|يستبعد|تستبعد|انكر|ينكر|تنكر|امتنع|"
                         r"لن |لا يمكن|مرفوض|احتج|يحتج|تحفظ|باطل|لا اساس")


def check_79(rec, t, where, prev):
    if rec["label"] != "denial" or DENIAL_WORD.search(t):
        return []
    return [("79", "label", "denial", ("no word of denial or refusal: a denial must answer a claim, report, request or "
                                       "proposal that someone made; a confirmation, a vindication or a negation that "
                                       "answers nobody is none or agreement (79, 50, 66)"))]


# 88: a bare demonstrative standing for a party (هؤلاء، أولئك) is a noun phrase and is the span.
DEMONSTRATIVE = re.compile(W + r"[وف]?(?:ل)?(?:هؤلاء|هولاء|اولئك|اولئكم)" + E)


def check_88(rec, t, where, prev):
    m = DEMONSTRATIVE.search(t)
    if rec["label"] == "none" or not m:
        return []
    return [("88", field, None, (f"«{m.group(0).strip()}» may stand for the party: a bare demonstrative is a noun "
                                 "phrase and is the span, only pronouns and pro-drop give null (88)"))
            for field in ("actor", "target") if rec[field] is None]


# 89: a hedge before a number (نحو، حوالي، قرابة، أكثر من) heads the noun phrase and stays in the span.
HEDGE_BEFORE = re.compile(r"(?:نحو|حوالي|حوالى|قرابة|زهاء|اكثر من|أكثر من|اقل من|أقل من|ما يزيد عن|ما يزيد على)\s*$")
NUMBER_START = re.compile(r"^(?:\d|[٠-٩]|عشر|عشرات|مئات|الاف|آلاف|ألف|الف|مائة|مئة|مليون|ملايين|ثلاث|اربع|أربع|خمس|ست|سبع|"
                          r"ثمان|تسع|اثن)")


def check_89(rec, t, where, prev):
    hits = []
    for field in ("actor", "target"):
        sp = rec[field]
        if sp and NUMBER_START.match(sp["text"]) and HEDGE_BEFORE.search(rec["text"][:sp["start"]]):
            hits.append(("89", field, sp, ("a hedge before the number is left out of the span: it heads the noun "
                                           "phrase and stays in it (89)")))
    return hits


# 90: a bracketed acronym or second name after a complete name is an apposition, left out of the span.
BRACKET_END = re.compile(r"\S\s*\([^()]{1,30}\)$")


def check_90(rec, t, where, prev):
    return [("90", field, rec[field], ("the span ends in a bracketed short name after the name: an apposition, "
                                       "left out unless it completes the name (90, 71, 86)"))
            for field in ("actor", "target") if rec[field] and BRACKET_END.search(rec[field]["text"])]


# 93: a prayer to God asks nothing of any party in the story: none.
PRAYER = re.compile(W + r"(?:اللهم|يا الله|يا رب|نسال الله|اسال الله|نسال المولى|اسال المولى|سائلا المولى|سائلين المولى|"
                    r"سائلا الله|سائلين الله|داعيا الله|داعين الله|ندعو الله|ادعو الله)" + E)


def check_93(rec, t, where, prev):
    m = PRAYER.search(t)
    if not m or "demand" not in kinds_of(rec):
        return []
    field = "label" if rec["label"] == "demand" else "also"
    return [("93", field, rec[field], f"«{m.group(0).strip()}»: a prayer to God is none; the demand may rest on it (93)")]


NEW_CHECKS = {
    "58": check_58, "59": check_59, "60": check_60, "61": check_61, "62": check_62, "63": check_63,
    "64": check_64, "65": check_65, "66": check_66, "67": check_67, "68": check_68, "69": check_69,
    "70": check_70, "71": check_71, "72": check_72, "73": check_73, "74": check_74, "75": check_75, "77": check_77, "79": check_79,
    "88": check_88, "89": check_89, "90": check_90, "93": check_93,
}


def load(data: Path) -> list[tuple[str, dict]]:
    out = []
    for split in SPLITS:
        with open(data / f"{split}.jsonl", encoding="utf-8") as f:
            out += [(split, json.loads(line)) for line in f if line.strip()]
    return out


OLD_RULES = ("20", "33", "35", "37", "44", "50", "51", "52", "53", "54", "55", "56", "57")
ALL_RULES = OLD_RULES + tuple(NEW_CHECKS)


def parse_rules(spec: str | None) -> list[str]:
    """`58-74`, `60,64`, `20,50-57` -> the rule numbers, in order; None -> every rule."""
    if not spec:
        return list(ALL_RULES)
    wanted = set()
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            a, b = (int(x) for x in part.split("-", 1))
            wanted |= {str(i) for i in range(a, b + 1)}
        elif part:
            wanted.add(str(int(part)))
    unknown = wanted - set(ALL_RULES)
    if unknown and not wanted & set(ALL_RULES):
        raise SystemExit(f"no check for rule(s) {', '.join(sorted(unknown, key=int))}")
    return [r for r in ALL_RULES if r in wanted]


def all_checks(rec: dict, prev: dict | None, rules: list[str]) -> list[tuple[str, str, object, str]]:
    """The hits of the chosen rules: the earlier rules (20-57) from checks(), the round 2 rules from
    their own functions."""
    hits = []
    if set(rules) & set(OLD_RULES):
        hits += [h for h in checks(rec) if h[0] in rules]
    t, where = normalise(rec["text"])
    for rule in rules:
        if rule in NEW_CHECKS:
            hits += NEW_CHECKS[rule](rec, t, where, prev)
    return hits


def sentence_no(rec: dict) -> int:
    return int(rec["id"].rsplit("-s", 1)[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--out", type=Path, default=Path("data/annotation/review/rule_conflicts.jsonl"))
    ap.add_argument("--rules", help="only these rules, e.g. 58-74 or 60,64,71 (default: all)")
    ap.add_argument("--quiet", action="store_true", help="print the counts only")
    args = ap.parse_args()
    rules = parse_rules(args.rules)

    records = load(args.data)
    by_pos = {(rec["doc"], sentence_no(rec)): rec for _, rec in records}
    rows = []
    for split, rec in records:
        prev = by_pos.get((rec["doc"], sentence_no(rec) - 1))
        for rule, field, current, why in all_checks(rec, prev, rules):
            rows.append({"id": rec["id"], "split": split, "rule": rule, "field": field,
                         "current": current, "why": why})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if not args.quiet:
        for r in rows:
            cur = r["current"]["text"] if isinstance(r["current"], dict) else r["current"]
            print(f"{r['rule']:>3} {r['split']:<7} {r['id']:<40} {r['field']:<14} {cur!s:<30} {r['why']}")
    counts = Counter(r["rule"] for r in rows)
    print(f"\n{len(rows)} hits in {len({r['id'] for r in rows})} records -> {args.out}")
    for rule in sorted(counts, key=int):
        by_split = Counter(r["split"] for r in rows if r["rule"] == rule)
        print(f"  rule {rule}: {counts[rule]}  ({', '.join(f'{s} {c}' for s, c in by_split.most_common())})")


if __name__ == "__main__":
    main()
