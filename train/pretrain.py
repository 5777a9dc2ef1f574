"""Masked-language-model pretraining of the local BERT on the unlabeled news that ships in data/.

A randomly initialised encoder learns Arabic from 3,000 labelled sentences
only; a few thousand MLM steps on 40,000 unlabelled sentences first give it
word knowledge to build on. Sized for a laptop CPU: minutes, not days.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import random
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from train.local_model import DEFAULT_TEXT, build_local_model, read_text

log = logging.getLogger("tasrih.pretrain")


def mask_tokens(ids: torch.Tensor, tokenizer, prob: float, gen: torch.Generator):
    """BERT's recipe: 15% of tokens are predicted; of those 80% [MASK], 10% random, 10% kept."""
    labels = ids.clone()
    special = (ids == tokenizer.pad_token_id) | (ids == tokenizer.cls_token_id) | (ids == tokenizer.sep_token_id)
    chosen = (torch.rand(ids.shape, generator=gen) < prob) & ~special
    labels[~chosen] = -100
    masked = chosen & (torch.rand(ids.shape, generator=gen) < 0.8)
    ids = ids.clone()
    ids[masked] = tokenizer.mask_token_id
    randomised = chosen & ~masked & (torch.rand(ids.shape, generator=gen) < 0.5)
    ids[randomised] = torch.randint(len(tokenizer), ids.shape, generator=gen)[randomised]
    return ids, labels


def pretrain(size: str, out: Path, text: Path = DEFAULT_TEXT, steps: int = 3000, batch_size: int = 64,
             max_length: int = 64, lr: float = 5e-4, seed: int = 0, max_sentences: int | None = None) -> Path:
    """Build the local BERT of ``size`` in ``out`` and pretrain it with MLM for ``steps`` steps."""
    from transformers import AutoTokenizer, BertForMaskedLM

    # Work in a temporary directory and rename at the end: an interrupted pretraining must not leave
    # a directory that a later run takes for a finished encoder.
    final, out = out, out.with_name(out.name + ".partial")
    shutil.rmtree(out, ignore_errors=True)
    build_local_model(size, out, text=text, seed=seed)
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = BertForMaskedLM.from_pretrained(out)
    sentences = list(read_text(text, max_sentences))
    log.info("MLM pretraining on %d sentences for %d steps", len(sentences), steps)
    enc = tokenizer(sentences, truncation=True, max_length=max_length)["input_ids"]
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    model.train()
    started = time.time()
    order: list[int] = []
    bar = tqdm(range(steps), desc="MLM", unit="step", disable=None)
    for step in bar:
        if len(order) < batch_size:
            order = list(range(len(enc)))
            rng.shuffle(order)
        batch = [enc[order.pop()] for _ in range(batch_size)]
        width = max(map(len, batch))
        ids = torch.full((batch_size, width), tokenizer.pad_token_id)
        for i, b in enumerate(batch):
            ids[i, :len(b)] = torch.tensor(b)
        inputs, labels = mask_tokens(ids, tokenizer, 0.15, gen)
        loss = model(input_ids=inputs, attention_mask=(ids != tokenizer.pad_token_id).long(), labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if bar.disable and (step + 1) % 200 == 0:
            log.info("MLM step %d/%d loss %.3f (%.0f s)", step + 1, steps, loss.item(), time.time() - started)
    # Save the encoder alone, in the same format as a hub checkpoint: fine-tuning loads it by path.
    model.bert.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "README.md").write_text(
        f"# Local BERT ({size}), MLM-pretrained\n\nBuilt by `tasrih build-local-model --size {size} --mlm-steps "
        f"{steps}`: WordPiece vocabulary and {steps} masked-language-model steps (batch {batch_size}, length "
        f"{max_length}) on `{text}`, {time.time() - started:.0f} s on {torch.get_num_threads()} CPU threads.\n",
        encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(out, final)
    return final

