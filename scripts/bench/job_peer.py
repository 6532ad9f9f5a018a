#!/usr/bin/env python3
"""The FISH reference pipeline, end to end, as the peer of `npm run bench:job` (scripts/bench-job.ts).

What varunnair18/FISH does with transformers 4.4's run_glue, restated in one script:
  1. tokenise with BertTokenizer, padding every example to --max-length (run_glue's pad_to_max_length);
  2. Fisher: --fisher-samples random training examples, batch 1, loss.backward(), grad.square() summed
     per parameter (calculate_the_importance_label), model in eval mode;
  3. mask: the top-k Fisher entries over every parameter but the classifier (k = floor(total × keep) −
     |classifier|, as the engine counts), the classifier whole;
  4. dense training: AdamW, linear decay, clip_grad_norm_, the gradients multiplied by the mask before
     clipping and the step (FISH's trainer), dropout on, --epochs over the data in shuffled batches;
  5. dev accuracy after each epoch (padded, batch 32).
Model: BertForSequenceClassification from the engine's model folder (config.json, vocab.txt,
model.safetensors read by hand: Debian has no python3-safetensors); the pooler and encoder come from the
checkpoint, the classifier is new (initialised by transformers), as in the engine's run.
Prints one JSON object: seconds per phase and in all (from process start), dev accuracy per epoch.
"""
import argparse
import csv
import json
import os
import random
import sys
import time

T_START = time.perf_counter()

import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'reference'))
from bert_reference import read_safetensors  # noqa: E402


def read_glue(path, task):
    rows = []
    with open(path, newline='', encoding='utf-8') as f:
        r = csv.reader(f, delimiter='\t', quoting=csv.QUOTE_NONE)
        head = next(r)
        for line in r:
            d = dict(zip(head, line))
            if task == 'rte':
                rows.append((d['sentence1'], d['sentence2'], 0 if d['label'] == 'entailment' else 1))
            else:
                rows.append((d['sentence'], None, int(d['label'])))
    return rows


def encode(tok, rows, max_len):
    a = [r[0] for r in rows]
    b = [r[1] for r in rows] if rows and rows[0][1] is not None else None
    enc = tok(a, b, padding='max_length', truncation=True, max_length=max_len, return_tensors='pt')
    return enc['input_ids'], enc['token_type_ids'], enc['attention_mask'], torch.tensor([r[2] for r in rows])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', required=True)
    ap.add_argument('--task', choices=['rte', 'sst2'], required=True)
    ap.add_argument('--train', required=True)
    ap.add_argument('--dev', required=True)
    ap.add_argument('--fisher-samples', type=int, default=1024)
    ap.add_argument('--keep-ratio', type=float, default=0.005)
    ap.add_argument('--epochs', type=int, default=3)
    ap.add_argument('--batch-size', type=int, default=16)
    ap.add_argument('--lr', type=float, default=5e-5)
    ap.add_argument('--max-grad-norm', type=float, default=1.0)
    ap.add_argument('--max-length', type=int, default=128)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer, get_linear_schedule_with_warmup
    import transformers

    cfg = json.load(open(os.path.join(a.model, 'config.json')))
    for k in ('architectures', 'model_type', 'torch_dtype', 'use_cache', 'classifier_dropout'):
        cfg.pop(k, None)
    model = BertForSequenceClassification(BertConfig(num_labels=2, **cfg))
    state = read_safetensors(os.path.join(a.model, 'model.safetensors'))
    missing, _unexpected = model.load_state_dict(state, strict=False)
    tok = BertTokenizer(os.path.join(a.model, 'vocab.txt'), do_lower_case=True)
    t0 = time.perf_counter()
    train_rows = read_glue(a.train, a.task)
    dev_rows = read_glue(a.dev, a.task)
    tr = encode(tok, train_rows, a.max_length)
    dv = encode(tok, dev_rows, a.max_length)
    t_tok = time.perf_counter() - t0

    # Fisher: batch-1 loop
    t0 = time.perf_counter()
    model.eval()
    grads = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    pick = random.Random(a.seed).sample(range(len(train_rows)), min(a.fisher_samples, len(train_rows)))
    for i in pick:
        out = model(input_ids=tr[0][i:i + 1], token_type_ids=tr[1][i:i + 1], attention_mask=tr[2][i:i + 1], labels=tr[3][i:i + 1])
        out.loss.backward()
        for n, p in model.named_parameters():
            grads[n] += torch.square(p.grad).data
        model.zero_grad()
    t_fisher = time.perf_counter() - t0

    # mask: global top-k outside the classifier, classifier whole
    t0 = time.perf_counter()
    total = sum(p.numel() for p in model.parameters())
    head = [n for n, _ in model.named_parameters() if n.startswith('classifier.')]
    head_size = sum(grads[n].numel() for n in head)
    k = int(total * a.keep_ratio) - head_size
    names = [n for n, _ in model.named_parameters() if n not in head]
    flat = torch.cat([grads[n].flatten() for n in names])
    thr = torch.topk(flat, k).values[-1]
    mask = {n: (grads[n] >= thr).float() for n in names}
    for n in head:
        mask[n] = torch.ones_like(grads[n])
    t_mask = time.perf_counter() - t0

    # dense training, gradients multiplied by the mask
    t0 = time.perf_counter()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.0, eps=1e-8)
    steps_per_epoch = (len(train_rows) + a.batch_size - 1) // a.batch_size
    sched = get_linear_schedule_with_warmup(opt, 0, steps_per_epoch * a.epochs)
    g = torch.Generator().manual_seed(a.seed)
    dev_acc = []
    t_eval = 0.0
    params = list(model.named_parameters())
    for _epoch in range(a.epochs):
        order = torch.randperm(len(train_rows), generator=g)
        for s in range(0, len(order), a.batch_size):
            idx = order[s:s + a.batch_size]
            out = model(input_ids=tr[0][idx], token_type_ids=tr[1][idx], attention_mask=tr[2][idx], labels=tr[3][idx])
            out.loss.backward()
            for n, p in params:
                p.grad.mul_(mask[n])
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.max_grad_norm)
            opt.step()
            sched.step()
            opt.zero_grad()
        te = time.perf_counter()
        model.eval()
        correct = 0
        with torch.no_grad():
            for s in range(0, len(dev_rows), 32):
                z = model(input_ids=dv[0][s:s + 32], token_type_ids=dv[1][s:s + 32], attention_mask=dv[2][s:s + 32]).logits
                correct += int((z.argmax(-1) == dv[3][s:s + 32]).sum())
        dev_acc.append(correct / len(dev_rows))
        model.train()
        t_eval += time.perf_counter() - te
    t_train = time.perf_counter() - t0 - t_eval
    print(json.dumps({
        'side': 'fish-reference', 'torch': torch.__version__, 'transformers': transformers.__version__, 'threads': torch.get_num_threads(),
        'task': a.task, 'train_rows': len(train_rows), 'dev_rows': len(dev_rows), 'fisher_samples': len(pick), 'trainable': int(sum(m.sum() for m in mask.values())),
        'missing_from_checkpoint': missing, 'epochs': a.epochs, 'batch_size': a.batch_size, 'lr': a.lr, 'tokens_per_example': a.max_length,
        'seconds': {'tokenise': t_tok, 'fisher': t_fisher, 'mask': t_mask, 'train': t_train, 'eval': t_eval, 'total': time.perf_counter() - T_START},
        'dev_accuracy': dev_acc,
    }))


if __name__ == '__main__':
    sys.exit(main())
