#!/usr/bin/env python3
"""Pre-train the demo encoder (masked language model + next-sentence prediction) on the corpus built by
build-corpus.ts, and save it as a Hugging Face BertForPreTraining folder the engine loads.

    /usr/bin/python3 scripts/demo-model/pretrain.py --corpus build/demo-corpus --out resources/models/ird-demo-bert

The model is the module-for-module restatement of Hugging Face's modeling_bert.py in
test/reference/bert_reference.py (the same code the engine's parity tests use), plus the standard BERT
pre-training heads: cls.predictions (transform dense + gelu + LayerNorm, decoder tied to the word
embeddings, bias) and cls.seq_relationship (NSP on the pooled [CLS]).

Objective, as in BERT: 15 % of the non-special tokens are chosen, 80 % of them replaced by [MASK], 10 % by a
random token, 10 % kept; masking is dynamic (new each epoch). Units with a true second segment (sentence
pairs of STS-B/RTE/WNLI, WordNet definition + example) give NSP examples, half with the true partner and half
with a random unit; single sentences are MLM-only. Everything is seeded; torch runs on the CPU.

Pre-training can be spread over several sittings: `--init DIR` continues from a folder this script saved
(weights only: the optimizer and schedule start afresh, with warm-up), and pretraining.json keeps the total
steps and time. The output is saved every --save-minutes (default 15) as a whole folder swapped in at once,
so a stopped session keeps what it trained.
"""
import argparse
import json
import math
import os
import random
import shutil
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'reference'))
from bert_reference import BertModel, read_safetensors, write_safetensors  # noqa: E402

CLS, SEP, MASK, PAD = 101, 102, 103, 0
FIRST_NORMAL = 999  # ids below are [PAD], [unused*], [UNK], [CLS], [SEP], [MASK]


class PreTrainingHeads(nn.Module):
    def __init__(self, c, word_embeddings):
        super().__init__()
        H = c['hidden_size']
        self.dense = nn.Linear(H, H)
        self.LayerNorm = nn.LayerNorm(H, eps=c['layer_norm_eps'])
        self.bias = nn.Parameter(torch.zeros(c['vocab_size']))
        self.word_embeddings = word_embeddings  # tied decoder
        self.seq_relationship = nn.Linear(H, 2)

    def mlm_logits(self, h):
        return F.linear(self.LayerNorm(F.gelu(self.dense(h))), self.word_embeddings.weight, self.bias)


def hf_init(module, std):
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, std)
            if m.padding_idx is not None:
                with torch.no_grad():
                    m.weight[m.padding_idx].zero_()
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def load_init(init_dir, bert, heads):
    """Continue from a saved BertForPreTraining folder (this script's output): every tensor must match."""
    sd = read_safetensors(os.path.join(init_dir, 'model.safetensors'))
    mine = {f'bert.{k}': v for k, v in bert.state_dict().items()}
    for k, v in heads_state(heads).items():
        mine[k] = v
    missing = sorted(set(mine) - set(sd))
    if missing:
        raise SystemExit(f'{init_dir}: model.safetensors lacks {missing[:5]} (is it a BertForPreTraining folder of this shape?)')
    with torch.no_grad():
        for k, dst in mine.items():
            if tuple(sd[k].shape) != tuple(dst.shape):
                raise SystemExit(f'{init_dir}: {k} has shape {tuple(sd[k].shape)}, this model {tuple(dst.shape)}; pass the same --layers/--hidden')
            dst.copy_(sd[k])
    prev = {}
    pj = os.path.join(init_dir, 'pretraining.json')
    if os.path.exists(pj):
        prev = json.load(open(pj))
    return prev


def heads_state(heads):
    """The pre-training heads under their Hugging Face names (the decoder is tied to the word embeddings)."""
    return {
        'cls.predictions.transform.dense.weight': heads.dense.weight,
        'cls.predictions.transform.dense.bias': heads.dense.bias,
        'cls.predictions.transform.LayerNorm.weight': heads.LayerNorm.weight,
        'cls.predictions.transform.LayerNorm.bias': heads.LayerNorm.bias,
        'cls.predictions.bias': heads.bias,
        'cls.seq_relationship.weight': heads.seq_relationship.weight,
        'cls.seq_relationship.bias': heads.seq_relationship.bias,
    }


def load_units(path):
    units = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            units.append((r['a'], r.get('b')))
    return units


def make_examples(units, rng, max_len):
    """One epoch's examples: (ids, type_ids, nsp_label or -100)."""
    out = []
    n = len(units)
    for a, b in units:
        if b is not None:
            if rng.random() < 0.5:
                second, label = b, 1
            else:
                second, label = units[rng.randrange(n)][0], 0
            la, lb = list(a), list(second)
            while len(la) + len(lb) > max_len - 3:  # longest-first truncation
                (la if len(la) >= len(lb) else lb).pop()
            ids = [CLS] + la + [SEP] + lb + [SEP]
            types = [0] * (len(la) + 2) + [1] * (len(lb) + 1)
            # NSP label 1 = "B is the true continuation" (HF: 0 = is next); stored HF-style below.
            out.append((ids, types, 0 if label == 1 else 1))
        else:
            la = list(a)[: max_len - 2]
            ids = [CLS] + la + [SEP]
            out.append((ids, [0] * len(ids), -100))
    return out


def mask_tokens(ids, rng, vocab_size, prob):
    labels = [-100] * len(ids)
    cand = [i for i, t in enumerate(ids) if t >= FIRST_NORMAL]
    if not cand:
        return ids, labels
    k = max(1, int(round(len(cand) * prob)))
    ids = list(ids)
    for i in rng.sample(cand, min(k, len(cand))):
        labels[i] = ids[i]
        r = rng.random()
        if r < 0.8:
            ids[i] = MASK
        elif r < 0.9:
            ids[i] = rng.randrange(FIRST_NORMAL, vocab_size)
    return ids, labels


def batches(examples, rng, tokens_per_batch, max_batch):
    """Length-bucketed batches (sort by length in chunks, then shuffle the batches)."""
    idx = list(range(len(examples)))
    rng.shuffle(idx)
    chunk = max_batch * 50
    out = []
    for s in range(0, len(idx), chunk):
        part = sorted(idx[s:s + chunk], key=lambda i: len(examples[i][0]))
        b = []
        for i in part:
            L = len(examples[i][0])
            if b and (len(b) + 1) * max(L, len(examples[b[-1]][0])) > tokens_per_batch or len(b) >= max_batch:
                out.append(b)
                b = []
            b.append(i)
        if b:
            out.append(b)
    rng.shuffle(out)
    return out


def collate(examples, batch, rng, vocab_size, prob):
    T = max(len(examples[i][0]) for i in batch)
    B = len(batch)
    ids = torch.full((B, T), PAD, dtype=torch.long)
    types = torch.zeros((B, T), dtype=torch.long)
    att = torch.zeros((B, T), dtype=torch.long)
    mlm = torch.full((B, T), -100, dtype=torch.long)
    nsp = torch.empty(B, dtype=torch.long)
    for r, i in enumerate(batch):
        e_ids, e_types, e_nsp = examples[i]
        m_ids, m_lab = mask_tokens(e_ids, rng, vocab_size, prob)
        L = len(e_ids)
        ids[r, :L] = torch.tensor(m_ids)
        types[r, :L] = torch.tensor(e_types)
        att[r, :L] = 1
        mlm[r, :L] = torch.tensor(m_lab)
        nsp[r] = e_nsp
    return ids, types, att, mlm, nsp


def save(args, c, bert, heads, step, epoch, elapsed, manifest, log, previous):
    """Write the Hugging Face folder to args.out: into a sibling temp folder first, swapped in when complete."""
    out = args.out.rstrip('/')
    tmp = out + '.tmp'
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    sd = {f'bert.{k}': v.float() for k, v in bert.state_dict().items()}
    sd.update({k: v.detach() for k, v in heads_state(heads).items()})
    write_safetensors(os.path.join(tmp, 'model.safetensors'), sd, {'format': 'pt'})
    config = dict(c)
    config.update({'architectures': ['BertForPreTraining'], 'model_type': 'bert', 'position_embedding_type': 'absolute',
                   'torch_dtype': 'float32', 'classifier_dropout': None, 'use_cache': True})
    with open(os.path.join(tmp, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
    with open(args.vocab) as src, open(os.path.join(tmp, 'vocab.txt'), 'w') as dst:
        dst.write(src.read())
    with open(os.path.join(tmp, 'tokenizer_config.json'), 'w') as f:
        json.dump({'do_lower_case': True, 'model_max_length': 512, 'tokenizer_class': 'BertTokenizer'}, f, indent=2)
    before_steps = (previous or {}).get('total_steps', (previous or {}).get('steps', 0))
    before_s = (previous or {}).get('total_elapsed_s', (previous or {}).get('elapsed_s', 0))
    record = {'args': vars(args), 'steps': step, 'epochs': epoch, 'elapsed_s': round(elapsed, 1),
              'total_steps': before_steps + step, 'total_elapsed_s': round(before_s + elapsed, 1),
              'torch': torch.__version__, 'threads': args.threads, 'corpus': manifest, 'log': log}
    if previous is not None:
        record['continued_from'] = {'dir': args.init, 'args': previous.get('args'), 'steps': previous.get('steps'),
                                    'total_steps': before_steps, 'log_tail': (previous.get('log') or [])[-3:]}
    with open(os.path.join(tmp, 'pretraining.json'), 'w') as f:
        json.dump(record, f, indent=1)
    if os.path.exists(out):
        old = out + '.old'
        if os.path.exists(old):
                shutil.rmtree(old)
        os.rename(out, old)
        os.rename(tmp, out)
        shutil.rmtree(old)
    else:
        os.rename(tmp, out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--corpus', default='build/demo-corpus')
    p.add_argument('--out', default='resources/models/ird-demo-bert')
    p.add_argument('--vocab', default='../shared/data/vocab/bert-base-uncased-vocab.txt')
    p.add_argument('--layers', type=int, default=4)
    p.add_argument('--hidden', type=int, default=256)
    p.add_argument('--max-len', type=int, default=64)
    p.add_argument('--tokens-per-batch', type=int, default=8192)
    p.add_argument('--max-batch', type=int, default=256)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--warmup', type=float, default=0.06)
    p.add_argument('--weight-decay', type=float, default=0.01)
    p.add_argument('--mask-prob', type=float, default=0.15)
    p.add_argument('--minutes', type=float, default=40.0, help='time budget; the schedule is set from --steps')
    p.add_argument('--steps', type=int, default=3000)
    p.add_argument('--stop-step', type=int, default=0,
                   help='stop after this many steps, the schedule still planned over --steps (0 = run to --steps); '
                        'makes a run that was cut at a save point reproducible')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=1234)
    p.add_argument('--bench', type=int, default=0, help='time this many steps and exit')
    p.add_argument('--init', default=None, help='continue from this saved folder (weights only; a fresh optimizer and schedule)')
    p.add_argument('--save-minutes', type=float, default=15.0, help='also save to --out every this many minutes (0 = only at the end)')
    args = p.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    H = args.hidden
    c = {
        'vocab_size': 30522, 'hidden_size': H, 'num_hidden_layers': args.layers, 'num_attention_heads': max(1, H // 64),
        'intermediate_size': 4 * H, 'hidden_act': 'gelu', 'hidden_dropout_prob': 0.1, 'attention_probs_dropout_prob': 0.1,
        'max_position_embeddings': 512, 'type_vocab_size': 2, 'initializer_range': 0.02, 'layer_norm_eps': 1e-12,
        'pad_token_id': 0,
    }
    bert = BertModel(c)
    heads = PreTrainingHeads(c, bert.embeddings.word_embeddings)
    hf_init(bert, c['initializer_range'])
    hf_init(heads, c['initializer_range'])
    previous = load_init(args.init, bert, heads) if args.init else None
    if previous is not None:
        print(f'continuing from {args.init} ({previous.get("total_steps", previous.get("steps", "?"))} steps before)', flush=True)
    params = list(bert.parameters()) + [q for n, q in heads.named_parameters() if not n.startswith('word_embeddings')]
    decay = [q for q in params if q.dim() >= 2]
    no_decay = [q for q in params if q.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': args.weight_decay}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-6)
    total = args.bench or args.steps
    stop = min(total, args.stop_step) if args.stop_step else total
    warm = max(1, int(args.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))

    units = load_units(os.path.join(args.corpus, 'corpus.jsonl'))
    manifest = json.load(open(os.path.join(args.corpus, 'manifest.json')))
    print(f'corpus: {len(units)} units, {manifest["tokens"]} tokens; model {args.layers}L/{H}H, '
          f'{sum(q.numel() for q in bert.parameters())} encoder parameters', flush=True)

    step, epoch, t0 = 0, 0, time.time()
    log = []
    ema_mlm = ema_nsp = ema_acc = None
    bert.train()
    heads.train()
    deadline = t0 + args.minutes * 60
    last_save = t0
    while step < stop and time.time() < deadline:
        epoch += 1
        examples = make_examples(units, rng, args.max_len)
        for batch in batches(examples, rng, args.tokens_per_batch, args.max_batch):
            if step >= stop or time.time() >= deadline:
                break
            ids, types, att, mlm, nsp = collate(examples, batch, rng, c['vocab_size'], args.mask_prob)
            emb = bert.embeddings(ids, types)
            ext = (1.0 - att[:, None, None, :].float()) * torch.finfo(torch.float32).min
            seq = bert.encoder(emb, ext)
            sel = mlm != -100
            logits = heads.mlm_logits(seq[sel])
            mlm_loss = F.cross_entropy(logits, mlm[sel])
            acc = (logits.argmax(-1) == mlm[sel]).float().mean().item()
            loss = mlm_loss
            has_nsp = nsp != -100
            nsp_loss = torch.tensor(0.0)
            if has_nsp.any():
                pooled = bert.pooler(seq)
                nsp_loss = F.cross_entropy(heads.seq_relationship(pooled[has_nsp]), nsp[has_nsp])
                loss = loss + nsp_loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            a = 0.98
            ema_mlm = mlm_loss.item() if ema_mlm is None else a * ema_mlm + (1 - a) * mlm_loss.item()
            ema_nsp = nsp_loss.item() if ema_nsp is None else a * ema_nsp + (1 - a) * nsp_loss.item()
            ema_acc = acc if ema_acc is None else a * ema_acc + (1 - a) * acc
            if args.save_minutes and not args.bench and time.time() - last_save >= args.save_minutes * 60:
                save(args, c, bert, heads, step, epoch, time.time() - t0, manifest, log, previous)
                last_save = time.time()
                print(f'saved {args.out} at step {step}', flush=True)
            if step % 50 == 0 or step == total or args.bench:
                el = time.time() - t0
                rec = {'step': step, 'epoch': epoch, 'mlm_loss': round(ema_mlm, 4), 'nsp_loss': round(ema_nsp, 4),
                       'mlm_acc': round(ema_acc, 4), 'lr': sched.get_last_lr()[0], 'elapsed_s': round(el, 1)}
                log.append(rec)
                print(json.dumps(rec), f'ETA {el / step * (total - step) / 60:.1f} min', flush=True)
    if args.bench:
        el = time.time() - t0
        print(f'bench: {step} steps in {el:.1f} s = {el / step:.2f} s/step', flush=True)
        return

    save(args, c, bert, heads, step, epoch, time.time() - t0, manifest, log, previous)
    print(f'saved {args.out}: {step} steps, {epoch} epochs, {(time.time() - t0) / 60:.1f} min', flush=True)


if __name__ == '__main__':
    main()
