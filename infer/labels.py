"""The label set of ANNOTATION.md section 2 and the BIO tags for spans."""

LABELS = ("none", "accusation", "denial", "agreement", "demand")
CLAIMS = LABELS[1:]  # the kinds that may appear in `also`
SPAN_ROLES = ("actor", "target")
SPAN_TAGS = ("O", "B-actor", "I-actor", "B-target", "I-target")

LABEL2ID = {label: i for i, label in enumerate(LABELS)}
TAG2ID = {tag: i for i, tag in enumerate(SPAN_TAGS)}
