#!/usr/bin/env python3
"""The PyTorch peer of `npm run bench`: Hugging Face BertForSequenceClassification on this machine's CPU.

Measures, for one model size at one sequence length:
  fisher  the FISH reference's Fisher loop (varunnair18/FISH, calculate_the_importance_label): batch 1,
          loss.backward(), then grad.square() added per parameter, model.zero_grad();
  train   dense training as run_glue does it: batch 16, dropout on, AdamW (weight decay 0.01 except biases
          and LayerNorm weights), clip_grad_norm_(1.0), scheduler-free lr (the schedule costs nothing).
Prints one JSON object on stdout (samples/s, iterations, the BLAS in use, threads, CPU model, tokens, batch,
model size). Every token of every sample is real (no padding), as in the engine's side of the bench.

The model class: transformers 4.4's own modeling_bert (the FISH reference's copy) when PYTHONPATH holds its
src/ (scripts/bench.ts unpacks ../shared/vendor/transformers-4.4-src.tar.xz into build/vendor/), else
test/reference/bert_reference.py's module-for-module restatement; "model_class" says which ran.

The bench starts this with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from the environment (these
machines set them; OpenBLAS picks its fastest kernels without them). Tests and CI never do that.

  /usr/bin/python3 scripts/bench/peer.py --layers 2 --hidden 128 --seq 128 --seconds 4 [--what fisher,train]
"""
import argparse
import json
import os
import platform
import sys
import time

import torch


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def loaded_libs():
    """Shared objects mapped into this process that do linear algebra or threading."""
    keys = ('blas', 'lapack', 'mkl', 'gomp', 'omp', 'dnnl', 'torch_cpu')
    libs = set()
    try:
        with open('/proc/self/maps') as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and '.so' in os.path.basename(parts[5]):
                    if any(k in os.path.basename(parts[5]).lower() for k in keys):
                        libs.add(os.path.realpath(parts[5]))
    except OSError:
        pass
    return sorted(libs)


def blas_name(libs):
    for p in libs:
        b = os.path.basename(p).lower()
        if 'openblas' in b:
            return 'OpenBLAS (' + p + ')'
        if 'mkl' in b:
            return 'MKL (' + p + ')'
    for p in libs:
        if 'blas' in os.path.basename(p).lower():
            return 'reference/other BLAS (' + p + ')'
    return 'unknown'


def build_model(layers, hidden, num_labels):
    cfg = dict(
        vocab_size=30522, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=max(1, hidden // 64),
        intermediate_size=4 * hidden, hidden_act='gelu', hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
        max_position_embeddings=512, type_vocab_size=2, initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=0,
    )
    try:
        from transformers import BertConfig, BertForSequenceClassification
        import transformers
        model = BertForSequenceClassification(BertConfig(num_labels=num_labels, **cfg))
        return model, f'transformers {transformers.__version__} BertForSequenceClassification ({os.path.dirname(transformers.__file__)})', 'hf'
    except Exception as e:  # noqa: BLE001 - say why and fall back
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'reference'))
        import bert_reference as ref
        c = dict(cfg, num_labels=num_labels)
        model = ref.BertForSequenceClassification(c) if hasattr(ref, 'BertForSequenceClassification') else None
        if model is None:
            raise
        return model, f'test/reference/bert_reference.py (transformers did not import: {e})', 'ref'


def run_model(model, kind, ids, tt, am, labels):
    if kind == 'hf':
        return model(input_ids=ids, token_type_ids=tt, attention_mask=am, labels=labels).loss
    logits = model(ids, tt, am)
    return torch.nn.functional.cross_entropy(logits, labels)


def random_batch(gen, b, seq, vocab=30522):
    ids = torch.randint(1000, vocab, (b, seq), generator=gen)
    ids[:, 0] = 101
    ids[:, -1] = 102
    tt = torch.zeros(b, seq, dtype=torch.long)
    tt[:, seq // 2 + 1:] = 1
    am = torch.ones(b, seq, dtype=torch.long)
    labels = torch.arange(b) % 2
    return ids, tt, am, labels


def timed(step, seconds, min_iters):
    """Wall seconds and process CPU seconds (all threads) per call, and the number of calls."""
    step()  # warm-up
    n = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    while n < min_iters or time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return (time.perf_counter() - t0) / n, (time.process_time() - c0) / n, n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--layers', type=int, required=True)
    ap.add_argument('--hidden', type=int, required=True)
    ap.add_argument('--seq', type=int, default=128)
    ap.add_argument('--seconds', type=float, default=4)
    ap.add_argument('--train-batch', type=int, default=16)
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--what', default='fisher,train')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model, model_class, kind = build_model(a.layers, a.hidden, 2)
    params = sum(p.numel() for p in model.parameters())
    out = {
        'side': 'pytorch', 'torch': torch.__version__, 'python': platform.python_version(), 'model_class': model_class,
        'threads': torch.get_num_threads(), 'interop_threads': torch.get_num_interop_threads(), 'cpus': os.cpu_count(), 'cpu': cpu_model(),
        'env': {k: os.environ.get(k) for k in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS')},
        'layers': a.layers, 'hidden': a.hidden, 'parameters': params, 'seq_len': a.seq, 'tokens_per_sample': a.seq,
    }
    what = set(a.what.split(','))
    if 'fisher' in what:
        model.eval()  # the FISH reference computes the Fisher without dropout (eval mode)
        grads = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
        ids, tt, am, labels = random_batch(gen, 1, a.seq)

        def fisher_step():
            loss = run_model(model, kind, ids, tt, am, labels)
            loss.backward()
            for n, p in model.named_parameters():
                if p.grad is not None:
                    grads[n] += torch.square(p.grad).data
            model.zero_grad()

        per, cpu, n = timed(fisher_step, a.seconds, 3)
        out['fisher'] = {'batch_size': 1, 'samples_per_sec': 1 / per, 'samples_per_cpu_sec': 1 / cpu, 'iterations': n}
    if 'train' in what:
        model.train()
        no_decay = ('bias', 'LayerNorm.weight')
        groups = [
            {'params': [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)], 'weight_decay': 0.01},
            {'params': [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], 'weight_decay': 0.0},
        ]
        opt = torch.optim.AdamW(groups, lr=2e-5, eps=1e-8)
        B = a.train_batch
        ids, tt, am, labels = random_batch(gen, B, a.seq)

        def train_step():
            loss = run_model(model, kind, ids, tt, am, labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad()

        per, cpu, n = timed(train_step, a.seconds, 2)
        out['train'] = {'batch_size': B, 'samples_per_sec': B / per, 'samples_per_cpu_sec': B / cpu, 'iterations': n, 'optimizer_state_floats': 2 * params}
    libs = loaded_libs()
    out['blas'] = blas_name(libs)
    out['libs'] = libs
    out['torch_config'] = torch.__config__.show()
    print(json.dumps(out))


if __name__ == '__main__':
    main()
