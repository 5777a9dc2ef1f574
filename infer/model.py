"""The tasrih model: a BERT encoder with a sentence head and a BIO span head.

The sentence head predicts the label (softmax over LABELS) and the `also`
kinds (independent sigmoids over CLAIMS); the token head tags actor and
target spans. All three are trained jointly from one encoder pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, BertConfig, BertModel, BertPreTrainedModel
from transformers.utils import ModelOutput

from infer.labels import CLAIMS, LABELS, SPAN_TAGS


class TasrihConfig(BertConfig):
    model_type = "tasrih"

    def __init__(self, normalizer: str = "basic", max_seq_length: int = 128, classifier_dropout_prob: float = 0.1,
                 span_loss_weight: float = 1.0, also_loss_weight: float = 0.5, label_temperature: float = 1.0,
                 pooling: str = "cls", text_prefix: str = "", label_weights: list[float] | None = None,
                 span_weights: list[float] | None = None, span_thresholds: dict | None = None, **kwargs):
        kwargs.setdefault("id2label", dict(enumerate(LABELS)))
        kwargs.setdefault("label2id", {label: i for i, label in enumerate(LABELS)})
        super().__init__(**kwargs)
        self.normalizer = normalizer
        self.max_seq_length = max_seq_length
        self.classifier_dropout_prob = classifier_dropout_prob
        self.span_loss_weight = span_loss_weight
        self.also_loss_weight = also_loss_weight
        self.label_temperature = label_temperature  # divides the label logits at inference; fitted on dev
        # "cls": the first token's state; "mean": the mean over the tokens (how e5 was pretrained).
        self.pooling = pooling
        # Put before every sentence ("query: " for e5, as in its pretraining); its tokens carry no tag.
        self.text_prefix = text_prefix
        self.label_weights = label_weights  # per-label loss weights (rare labels count more), or None
        self.span_weights = span_weights  # per-tag loss weights of the span head, or None
        # {"actor": t, "target": t}: spans scoring below t are dropped at inference; fitted on dev
        self.span_thresholds = span_thresholds
        self.claims = list(CLAIMS)
        self.span_tags = list(SPAN_TAGS)


@dataclass
class TasrihOutput(ModelOutput):
    loss: torch.Tensor | None = None
    label_logits: torch.Tensor | None = None
    also_logits: torch.Tensor | None = None
    span_logits: torch.Tensor | None = None


class TasrihModel(BertPreTrainedModel):
    config_class = TasrihConfig

    def __init__(self, config: TasrihConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(config.classifier_dropout_prob)
        self.label_head = nn.Linear(config.hidden_size, len(config.id2label))
        self.also_head = nn.Linear(config.hidden_size, len(config.claims))
        self.span_head = nn.Linear(config.hidden_size, len(config.span_tags))
        self.post_init()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, also=None,
                span_tags=None, **_) -> TasrihOutput:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        if getattr(self.config, "pooling", "cls") == "mean":
            mask = (attention_mask if attention_mask is not None else torch.ones_like(input_ids)
                    ).unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        else:
            pooled = hidden[:, 0]
        pooled, hidden = self.dropout(pooled), self.dropout(hidden)
        out = TasrihOutput(label_logits=self.label_head(pooled), also_logits=self.also_head(pooled),
                           span_logits=self.span_head(hidden))
        if labels is not None:
            weights = getattr(self.config, "label_weights", None)
            weights = torch.tensor(weights, device=labels.device) if weights else None
            loss = nn.functional.cross_entropy(out.label_logits.float(), labels, weight=weights)
            if also is not None:
                loss = loss + self.config.also_loss_weight * nn.functional.binary_cross_entropy_with_logits(
                    out.also_logits.float(), also.float())
            if span_tags is not None:
                # -100 marks sub-word continuations and special tokens: only a word's first piece is tagged.
                tag_weights = getattr(self.config, "span_weights", None)
                tag_weights = torch.tensor(tag_weights, device=span_tags.device) if tag_weights else None
                loss = loss + self.config.span_loss_weight * nn.functional.cross_entropy(
                    out.span_logits.float().flatten(0, 1), span_tags.flatten(), weight=tag_weights, ignore_index=-100)
            out.loss = loss
        return out


# Let the Auto* classes (AutoTokenizer reads the config too) recognise saved tasrih models.
AutoConfig.register("tasrih", TasrihConfig, exist_ok=True)
AutoModel.register(TasrihConfig, TasrihModel, exist_ok=True)
