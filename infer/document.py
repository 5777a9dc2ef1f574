"""What a sentence's prediction gains from its document: position, resolved actor, actor code.

Models read each sentence on its own; this module adds what depends on the
article, so that the CLI, the Python API and the HTTP server (where one
forward pass mixes sentences of several requests) produce identical rows.
It imports no torch, so `tasrih --help` and the server's parsing stay fast.
"""

from __future__ import annotations

from infer.gazetteer import actor_code

# The fields of one classify row, in order (dataset record fields plus scores and position).
ROW_FIELDS = ("doc", "sentence_index", "text", "label", "scores", "also", "actor", "actor_resolved",
              "actor_code", "target", "windows")


class DocumentContext:
    """Turns per-sentence predictions of one document, fed in order, into classify rows.

    ``actor_resolved``: a claim whose actor is only a pronoun or the verb's
    person takes the last actor named before it in the same document
    (ANNOTATION.md 4); an actor the sentence names always wins over one carried
    over. ``actor_code``: the CAMEO code of the gazetteer entry that is the whole
    resolved actor, or null (infer/gazetteer.py).
    """

    def __init__(self, doc: str):
        self.doc = doc
        self.index = 0
        self.last_actor: str | None = None

    def row(self, pred: dict) -> dict:
        resolved = None
        if pred["label"] != "none":
            actor = pred["actor"]
            resolved = actor["text"] if actor else self.last_actor
            if actor:
                self.last_actor = actor["text"]
        row = {"doc": self.doc, "sentence_index": self.index, "text": pred["text"], "label": pred["label"],
               "scores": pred["scores"], "also": pred["also"], "actor": pred["actor"], "actor_resolved": resolved,
               "actor_code": actor_code(resolved), "target": pred["target"], "windows": pred["windows"]}
        self.index += 1
        return row
