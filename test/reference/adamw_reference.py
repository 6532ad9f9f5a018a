#!/usr/bin/env python3
"""Reference trajectories for the sparse AdamW of src/engine/train, from PyTorch itself.

Owns: test/fixtures/train/adamw_reference.json, which test/engine/train/adamw.test.ts replays: the same
initial weights, masks and per-step gradients go through the TypeScript optimizer, and every weight after
every step, the learning rate of every step and the gradient norm before clipping must match; and
test/fixtures/train/fish_train_reference.json (fish_training_case below), the whole masked training loop on a
tiny BERT, which test/engine/train/fish-reference.test.ts runs through the TypeScript trainer.

What runs here is FISH's training step with PyTorch's own classes:
    p.grad = g * mask                                   (gradient masking)
    torch.nn.utils.clip_grad_norm_(params, max_norm)    (global L2 norm over the masked gradient)
    torch.optim.AdamW(..., foreach=False).step()        (dense state; masked-out entries never move)
    LambdaLR with Hugging Face's get_linear_schedule_with_warmup lambda
transformers is not installed for Debian's python, so the lambda is copied verbatim from
transformers.optimization (v4.x):
    if current_step < num_warmup_steps: return float(current_step) / float(max(1, num_warmup_steps))
    return max(0.0, float(num_training_steps - current_step) / float(max(1, num_training_steps - num_warmup_steps)))
Weight decay: dense AdamW would also shrink frozen entries; the TypeScript optimizer decays trainable
entries only (state and updates exist for masked entries alone), so after each step this script puts the
frozen entries of decayed tensors back. Entries do not interact in AdamW, so the masked entries are
exactly PyTorch's.

Run with Debian's python (it has torch 1.13):
    /usr/bin/python3 test/reference/adamw_reference.py
Deterministic for a given torch version (fixed seed); the versions are recorded in the JSON. Floats are
float32 values written with Python's repr (exact float64 of the float32), so both sides start from
identical bits.
"""
import json
import os
import platform

import torch

OUT = os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'train', 'adamw_reference.json')


def hf_linear_lambda(num_warmup_steps, num_training_steps):
    def lr_lambda(current_step):
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        return max(0.0, float(num_training_steps - current_step) / float(max(1, num_training_steps - num_warmup_steps)))

    return lr_lambda


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def run_case(name, gen, tensors, steps, lr, total_steps, warmup, wd, max_norm, betas=(0.9, 0.999), eps=1e-8, grad_scales=None):
    params = []
    masks = []
    decayed = []
    out_tensors = []
    for spec in tensors:
        shape = spec['shape']
        n = 1
        for d in shape:
            n *= d
        init = torch.randn(shape, generator=gen, dtype=torch.float32) * spec.get('std', 1.0)
        if spec.get('zeros'):
            init.view(-1)[spec['zeros']] = 0.0
        if spec.get('negzeros'):
            init.view(-1)[spec['negzeros']] = -0.0
        p = torch.nn.Parameter(init.clone())
        m = torch.zeros(n, dtype=torch.float32)
        if spec['mask'] == 'all':
            m[:] = 1
        else:
            m[spec['mask']] = 1
        params.append(p)
        masks.append(m.view(shape))
        decayed.append(spec['decay'])
        out_tensors.append({'name': spec['name'], 'shape': shape, 'decay': spec['decay'], 'mask': spec['mask'], 'init': flat(init)})
    groups = [
        {'params': [p for p, d in zip(params, decayed) if d], 'weight_decay': wd},
        {'params': [p for p, d in zip(params, decayed) if not d], 'weight_decay': 0.0},
    ]
    groups = [g for g in groups if g['params']]
    opt = torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, weight_decay=wd, foreach=False)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, hf_linear_lambda(warmup, total_steps))
    out_steps = []
    for s in range(steps):
        scale = grad_scales[s] if grad_scales else 1.0
        grads = [torch.randn(p.shape, generator=gen, dtype=torch.float32) * scale for p in params]
        before = [p.detach().clone() for p in params]
        for p, g, m in zip(params, grads, masks):
            p.grad = g * m
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        lr_used = opt.param_groups[0]['lr']
        opt.step()
        sched.step()
        with torch.no_grad():
            for p, b, m, d in zip(params, before, masks, decayed):
                if d:
                    p.copy_(torch.where(m.bool(), p, b))
        out_steps.append({
            'grads': [flat(g) for g in grads],
            'lr': lr_used,
            'gradNorm': float(norm),
            'params': [flat(p) for p in params],
        })
    return {
        'name': name, 'lr': lr, 'betas': list(betas), 'eps': eps, 'weightDecay': wd, 'maxGradNorm': max_norm,
        'warmupSteps': warmup, 'totalSteps': total_steps, 'tensors': out_tensors, 'steps': out_steps,
    }


def fish_training_case():
    """End to end: FISH's masked training loop on a tiny BERT (test/reference/bert_reference.py's re-statement of
    HF BertForSequenceClassification), dropout 0 so both sides compute the same function. float64 throughout: the
    reference is the exact trajectory, the TypeScript float32 run must stay within rounding of it. One batch
    holding every example per epoch, so the trainer's seeded shuffle (a permutation inside the batch) does not
    change the mean loss."""
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bert_reference import BertForSequenceClassification

    c = dict(vocab_size=20, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16,
             hidden_act='gelu', hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, max_position_embeddings=12,
             type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0, initializer_range=0.02, classifier_dropout=None,
             num_labels=2)
    g = torch.Generator().manual_seed(77)
    model = BertForSequenceClassification(c).double()
    model.eval()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.endswith('LayerNorm.weight'):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            p.copy_(p.float().double())
    names = [n for n, _ in model.named_parameters()]
    params = dict(model.named_parameters())
    init = {n: flat(p) for n, p in params.items()}
    # mask: head all; ~20 % of every other tensor except two frozen ones; whole word-embedding rows 3 and 7
    mask_idx = {}
    for n, p in params.items():
        k = p.numel()
        if n.startswith('classifier.'):
            mask_idx[n] = 'all'
        elif 'attention.self.key' in n or n == 'bert.pooler.dense.weight':
            continue
        elif n == 'bert.embeddings.word_embeddings.weight':
            H = p.shape[1]
            rows = [r * H + h for r in (3, 7) for h in range(H)]
            extra = torch.randperm(k, generator=g)[:5].tolist()
            mask_idx[n] = sorted(set(rows + extra))
        else:
            mask_idx[n] = sorted(torch.randperm(k, generator=g)[:max(1, k // 5)].tolist())
    masks = {}
    for n, p in params.items():
        m = torch.zeros(p.numel(), dtype=torch.float64)
        if n in mask_idx:
            if mask_idx[n] == 'all':
                m[:] = 1
            else:
                m[mask_idx[n]] = 1
        masks[n] = m.view(p.shape)
    # examples: [CLS]=1 ... [SEP]=2 (pairs with token type 1 on the second part), lengths 4..10
    lens = [10, 4, 7, 9, 5, 8]
    B, T = len(lens), max(lens)
    ids = torch.zeros(B, T, dtype=torch.long)
    tt = torch.zeros(B, T, dtype=torch.long)
    am = torch.zeros(B, T, dtype=torch.long)
    examples = []
    for b, n in enumerate(lens):
        toks = torch.randint(3, c['vocab_size'], (n,), generator=g)
        toks[0] = 1
        toks[n - 1] = 2
        split = n // 2
        toks[split - 1] = 2
        ids[b, :n] = toks
        tt[b, split:n] = 1
        am[b, :n] = 1
        examples.append({'inputIds': toks.tolist(), 'tokenTypeIds': tt[b, :n].tolist(), 'label': b % 2})
    labels = torch.tensor([e['label'] for e in examples])
    epochs, lr, warmup, max_norm = 4, 1e-2, 1, 0.2  # max_norm 0.2: steps 1-2 clip, 3-4 do not
    trainable = [params[n] for n in names if n in mask_idx]
    opt = torch.optim.AdamW(trainable, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, foreach=False)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, hf_linear_lambda(warmup, epochs))
    steps = []
    for _ in range(epochs):
        opt.zero_grad()
        _, loss = model(ids, tt, am, labels)
        loss.backward()
        for n in names:
            if n in mask_idx:
                params[n].grad.mul_(masks[n])
        norm = torch.nn.utils.clip_grad_norm_(trainable, max_norm)
        lr_used = opt.param_groups[0]['lr']
        opt.step()
        sched.step()
        after = {}
        for n in names:
            if n not in mask_idx:
                continue
            v = params[n].detach().reshape(-1)
            idx = range(v.numel()) if mask_idx[n] == 'all' else mask_idx[n]
            after[n] = [float(v[i]) for i in idx]
        steps.append({'loss': float(loss), 'gradNorm': float(norm), 'lr': lr_used, 'masked': after})
    return {
        'config': c, 'init': init, 'mask': mask_idx, 'examples': examples, 'epochs': epochs, 'lr': lr,
        'warmupSteps': warmup, 'maxGradNorm': max_norm, 'steps': steps,
    }


def main():
    gen = torch.Generator().manual_seed(20240311)
    cases = []
    # FISH settings (no warm-up, wd 0, clip 1.0) with a larger lr so that updates are visible; the schedule
    # runs to its end. Gradient scales make some steps clip (norm > 1) and some not.
    cases.append(run_case(
        'fish-no-warmup', gen,
        [
            {'name': 'w', 'shape': [6, 5], 'mask': [0, 3, 7, 8, 12, 19, 22, 28, 29], 'decay': True, 'zeros': [7], 'negzeros': [8]},
            {'name': 'b', 'shape': [5], 'mask': 'all', 'decay': False, 'negzeros': [2]},
            {'name': 'e', 'shape': [4, 3], 'mask': [1, 4, 5], 'decay': True},
            {'name': 'frozen', 'shape': [3], 'mask': [], 'decay': True},
        ],
        steps=8, lr=1e-2, total_steps=8, warmup=0, wd=0.0, max_norm=1.0,
        grad_scales=[1.0, 0.05, 3.0, 0.01, 0.2, 1.0, 0.001, 0.5]))
    # Warm-up, weight decay, other betas/eps, a smaller clip; the run stops before the schedule ends.
    cases.append(run_case(
        'warmup-decay', gen,
        [
            {'name': 'w', 'shape': [4, 4], 'mask': [1, 2, 5, 10, 15], 'decay': True},
            {'name': 'ln', 'shape': [4], 'mask': [0, 3], 'decay': False},
            {'name': 'all', 'shape': [2, 3], 'mask': 'all', 'decay': True},
        ],
        steps=7, lr=3e-2, total_steps=10, warmup=3, wd=0.1, max_norm=0.5, betas=(0.8, 0.99), eps=1e-6,
        grad_scales=[0.3, 1.0, 0.02, 2.0, 0.1, 0.1, 5.0]))
    # No clipping (max_norm = inf) and tiny gradients: eps dominates the denominator.
    cases.append(run_case(
        'noclip-tiny-grads', gen,
        [{'name': 'w', 'shape': [3, 3], 'mask': [0, 4, 8], 'decay': False}],
        steps=5, lr=1e-3, total_steps=5, warmup=1, wd=0.0, max_norm=float('inf'),
        grad_scales=[1e-9, 1e-7, 1e-3, 1e-8, 1.0]))
    sched_cases = []
    for total, warm in [(10, 0), (10, 3), (7, 7), (5, 2), (1, 0)]:
        f = hf_linear_lambda(warm, total)
        sched_cases.append({'totalSteps': total, 'warmupSteps': warm, 'factors': [f(t) for t in range(total + 1)]})
    doc = {
        'versions': {'python': platform.python_version(), 'torch': torch.__version__},
        'cases': cases,
        'schedule': sched_cases,
    }
    fish = fish_training_case()
    fish['versions'] = doc['versions']
    fish_out = os.path.join(os.path.dirname(OUT), 'fish_train_reference.json')
    with open(fish_out, 'w') as fh:
        json.dump(fish, fh, indent=None, separators=(',', ':'))
        fh.write('\n')
    print(f'wrote {fish_out}: losses {[round(s["loss"], 5) for s in fish["steps"]]}, grad norms {[round(s["gradNorm"], 4) for s in fish["steps"]]}')
    for c in cases:
        if c['maxGradNorm'] == float('inf'):
            c['maxGradNorm'] = None  # JSON has no Infinity; the test reads null as "no clipping"
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as fh:
        json.dump(doc, fh, indent=None, separators=(',', ':'))
        fh.write('\n')
    print(f'wrote {OUT}')


if __name__ == '__main__':
    main()
