#!/usr/bin/env python3
"""Tiny Hugging Face BERT checkpoints, written by PyTorch, for the checkpoint-IO tests.

Neither transformers nor the safetensors package is installed here, so this script builds the state dicts
by hand with torch, using the parameter names transformers' modeling_bert.py gives them, and writes
safetensors with its own 30-line writer (independent of the TypeScript code under test).

Run with Debian's python (python3-torch):   /usr/bin/python3 test/reference/make_checkpoints.py
Writes test/fixtures/io/<variant>/ (config.json, weights, tokenizer files), test/fixtures/io/dtypes.safetensors
and test/fixtures/io/reference.json (per tensor: dtype, shape, sum, weighted sum and first values, computed
by torch in float64; and which canonical parameter the TypeScript loader should map each tensor to).

Also:  /usr/bin/python3 test/reference/make_checkpoints.py --verify DIR VARIANT
reads a folder written by the TypeScript saver with the reader below and checks it against the reference.
"""
import json
import os
import struct
import sys

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'io')
CFG = dict(vocab_size=50, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16,
           max_position_embeddings=16, type_vocab_size=2, hidden_act='gelu', hidden_dropout_prob=0.1,
           attention_probs_dropout_prob=0.1, layer_norm_eps=1e-12, initializer_range=0.02, pad_token_id=0,
           model_type='bert')

# ---------------------------------------------------------------- safetensors (independent writer/reader)
DT = {torch.float64: 'F64', torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.int64: 'I64',
      torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL'}
TD = {v: k for k, v in DT.items()}
assert sys.byteorder == 'little'


def raw_bytes(t):
    t = t.contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.view(torch.int16)  # numpy has no bfloat16
    return t.numpy().tobytes()


def save_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header['__metadata__'] = metadata
    for name, t in tensors.items():  # insertion order; the TS writer sorts, this one need not
        b = raw_bytes(t)
        header[name] = {'dtype': DT[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def load_safetensors(path):
    with open(path, 'rb') as f:
        buf = f.read()
    (n,) = struct.unpack('<Q', buf[:8])
    header = json.loads(buf[8:8 + n])
    meta = header.pop('__metadata__', None)
    out = {}
    for name, info in header.items():
        b, e = info['data_offsets']
        dt = TD[info['dtype']]
        raw = bytearray(buf[8 + n + b:8 + n + e])
        if dt in (torch.float16, torch.bfloat16):
            t = torch.frombuffer(raw, dtype=torch.int16).view(dt) if raw else torch.zeros(0, dtype=dt)
        else:
            t = torch.frombuffer(raw, dtype=dt) if raw else torch.zeros(0, dtype=dt)
        out[name] = t.reshape(info['shape'])
    return out, meta


# ---------------------------------------------------------------- state dicts in Hugging Face naming
def full_state(seed):
    """Every tensor any BERT head variant has, float32, in modeling_bert.py naming."""
    g = torch.Generator().manual_seed(seed)
    c = CFG
    H, I, V = c['hidden_size'], c['intermediate_size'], c['vocab_size']

    def rn(*shape, scale=0.05):
        return torch.randn(*shape, generator=g) * scale

    def ln(prefix):
        sd[prefix + '.weight'] = 1 + rn(H, scale=0.1)
        sd[prefix + '.bias'] = rn(H, scale=0.02)

    sd = {}
    sd['bert.embeddings.position_ids'] = torch.arange(c['max_position_embeddings']).unsqueeze(0)  # int64 buffer
    sd['bert.embeddings.word_embeddings.weight'] = rn(V, H)
    sd['bert.embeddings.position_embeddings.weight'] = rn(c['max_position_embeddings'], H)
    sd['bert.embeddings.token_type_embeddings.weight'] = rn(c['type_vocab_size'], H)
    ln('bert.embeddings.LayerNorm')
    for l in range(c['num_hidden_layers']):
        p = f'bert.encoder.layer.{l}'
        for m in ('query', 'key', 'value'):
            sd[f'{p}.attention.self.{m}.weight'] = rn(H, H)
            sd[f'{p}.attention.self.{m}.bias'] = rn(H, scale=0.02)
        sd[f'{p}.attention.output.dense.weight'] = rn(H, H)
        sd[f'{p}.attention.output.dense.bias'] = rn(H, scale=0.02)
        ln(f'{p}.attention.output.LayerNorm')
        sd[f'{p}.intermediate.dense.weight'] = rn(I, H)
        sd[f'{p}.intermediate.dense.bias'] = rn(I, scale=0.02)
        sd[f'{p}.output.dense.weight'] = rn(H, I)
        sd[f'{p}.output.dense.bias'] = rn(H, scale=0.02)
        ln(f'{p}.output.LayerNorm')
    sd['bert.pooler.dense.weight'] = rn(H, H)
    sd['bert.pooler.dense.bias'] = rn(H, scale=0.02)
    sd['classifier.weight'] = rn(3, H)
    sd['classifier.bias'] = rn(3, scale=0.02)
    # BertForPreTraining / BertForMaskedLM heads (decoder.weight is tied to the word embeddings in HF)
    sd['cls.predictions.bias'] = rn(V, scale=0.02)
    sd['cls.predictions.transform.dense.weight'] = rn(H, H)
    sd['cls.predictions.transform.dense.bias'] = rn(H, scale=0.02)
    ln('cls.predictions.transform.LayerNorm')
    sd['cls.predictions.decoder.weight'] = sd['bert.embeddings.word_embeddings.weight'].clone()
    sd['cls.seq_relationship.weight'] = rn(2, H)
    sd['cls.seq_relationship.bias'] = rn(2, scale=0.02)
    return sd


def pick(sd, keep):
    return {k: v for k, v in sd.items() if keep(k)}


def canonical(name):
    """What the TypeScript loader should map a tensor to (None: ignored)."""
    if name.endswith('position_ids') or name.startswith('cls.'):
        return None
    if name.endswith('.gamma'):
        name = name[:-6] + '.weight'
    if name.endswith('.beta'):
        name = name[:-5] + '.bias'
    if not name.startswith('bert.') and not name.startswith('classifier.'):
        name = 'bert.' + name
    return name


def tf_names(sd):
    return {k.replace('LayerNorm.weight', 'LayerNorm.gamma').replace('LayerNorm.bias', 'LayerNorm.beta'): v
            for k, v in sd.items()}


VARIANTS = {}


def variant(name, architectures, config_extra, sd, initialized, shards=1, torch_dtype='float32'):
    VARIANTS[name] = dict(architectures=architectures, config_extra=config_extra, sd=sd, initialized=initialized,
                          shards=shards, torch_dtype=torch_dtype)


def build_variants():
    base = full_state(1234)
    no_cls = lambda k: not k.startswith('cls.')
    seqcls = pick(base, no_cls)
    variant('seqcls-f32', ['BertForSequenceClassification'],
            {'num_labels': 3, 'id2label': {'0': 'neg', '1': 'neu', '2': 'pos'},
             'label2id': {'neg': 0, 'neu': 1, 'pos': 2}}, seqcls, [])
    bertmodel = {k[len('bert.'):]: v for k, v in base.items() if k.startswith('bert.') and 'position_ids' not in k}
    variant('bertmodel-f32', ['BertModel'], {}, bertmodel, ['classifier.weight', 'classifier.bias'])
    pretraining = tf_names(pick(base, lambda k: not k.startswith('classifier.') and 'position_ids' not in k))
    variant('pretraining-tfnames-f32', None, {}, pretraining, ['classifier.weight', 'classifier.bias'])
    mlm = {k: v.half() if v.is_floating_point() else v
           for k, v in base.items() if not k.startswith(('classifier.', 'bert.pooler.', 'cls.seq_relationship.'))
           and k != 'cls.predictions.decoder.weight'}
    variant('maskedlm-f16', ['BertForMaskedLM'], {}, mlm,
            ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias'],
            torch_dtype='float16')
    bf16 = {k: v.bfloat16() if v.is_floating_point() else v for k, v in pick(base, no_cls).items()
            if 'position_ids' not in k}
    variant('seqcls-bf16', ['BertForSequenceClassification'], {'num_labels': 3}, bf16, [], torch_dtype='bfloat16')
    variant('seqcls-sharded', ['BertForSequenceClassification'], {'num_labels': 3},
            pick(seqcls, lambda k: 'position_ids' not in k), [], shards=3)


def stats(t):
    d = t.detach().to(torch.float64).flatten()
    w = (torch.arange(d.numel(), dtype=torch.float64) % 7) + 1
    return {'dtype': DT[t.dtype], 'shape': list(t.shape), 'sum': d.sum().item(), 'wsum': (d * w).sum().item(),
            'first': d[:4].tolist()}


VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] + [chr(ord('a') + i) for i in range(26)] + \
        ['the', 'a##', '##s', '##ing', 'good', 'bad', 'movie', 'film', 'not', 'very', 'great', 'plot', 'actor', '.',
         ',', '!', '?', '##ed', '##ly']
assert len(VOCAB) == CFG['vocab_size']


def write_variant(name, v):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    cfg = dict(CFG)
    if v['architectures'] is not None:
        cfg['architectures'] = v['architectures']
    cfg.update(v['config_extra'])
    cfg['torch_dtype'] = v['torch_dtype']
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
    sd = v['sd']
    if v['shards'] == 1:
        save_safetensors(os.path.join(d, 'model.safetensors'), sd, {'format': 'pt'})
    else:
        names = list(sd)
        sizes = [sd[k].numel() * sd[k].element_size() for k in names]
        total, n = sum(sizes), v['shards']
        groups, acc = [[] for _ in range(n)], 0
        for k, s in zip(names, sizes):
            groups[min(n - 1, acc * n // total)].append(k)
            acc += s
        weight_map = {}
        for i, g in enumerate(groups):
            fn = f'model-{i + 1:05d}-of-{n:05d}.safetensors'
            save_safetensors(os.path.join(d, fn), {k: sd[k] for k in g}, {'format': 'pt'})
            weight_map.update({k: fn for k in g})
        with open(os.path.join(d, 'model.safetensors.index.json'), 'w') as f:
            json.dump({'metadata': {'total_size': total}, 'weight_map': weight_map}, f, indent=2)
    if name.startswith('seqcls-f32') or name.startswith('maskedlm'):
        with open(os.path.join(d, 'vocab.txt'), 'w') as f:
            f.write('\n'.join(VOCAB) + '\n')
        with open(os.path.join(d, 'tokenizer_config.json'), 'w') as f:
            json.dump({'do_lower_case': True, 'model_max_length': 16, 'tokenizer_class': 'BertTokenizer'}, f, indent=2)
        with open(os.path.join(d, 'special_tokens_map.json'), 'w') as f:
            json.dump({'pad_token': '[PAD]', 'unk_token': '[UNK]', 'cls_token': '[CLS]', 'sep_token': '[SEP]',
                       'mask_token': '[MASK]'}, f, indent=2)
    return {
        'architecture': (v['architectures'] or [None])[0],
        'initialized': v['initialized'],
        'tensors': {k: dict(stats(t), canonical=canonical(k)) for k, t in sd.items()},
    }


def conversions():
    """float32 values with torch's float16/bfloat16 roundings, and one tensor of every other dtype."""
    edge = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.99, 65520.0, -65520.0, 1e5, float('inf'), float('-inf'), float('nan'),
            2 ** -24, 2 ** -25, 2 ** -25 * 1.0000001, 3 * 2 ** -25, 2 ** -14, 2 ** -14 - 2 ** -24, 6.0e-5, 1e-8, -1e-7,
            1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.4028234663852886e38, 1.1754943508222875e-38,
            1e-45, 0.1, 1 / 3, 2049.0, 2051.0, -2051.0]
    g = torch.Generator().manual_seed(7)
    mags = torch.randn(600, generator=g) * 10.0 ** (torch.rand(600, generator=g) * 16 - 10)
    bits = torch.randint(-2 ** 31, 2 ** 31 - 1, (600,), generator=g, dtype=torch.int64).to(torch.int32).view(torch.float32)
    bits = torch.where(torch.isnan(bits), torch.zeros_like(bits), bits)  # NaN payloads: torch canonicalises, we keep them
    x = torch.cat([torch.tensor(edge, dtype=torch.float32), mags.float(), bits])
    t = {
        'x': x, 'x_f16': x.half(), 'x_bf16': x.bfloat16(), 'x_f16_back': x.half().float(), 'x_bf16_back': x.bfloat16().float(),
        'f64': torch.tensor([1.5, -2.25, 1e300, 1 / 3], dtype=torch.float64),
        'i64': torch.tensor([0, -1, 2 ** 40 + 1, -(2 ** 62), 2 ** 63 - 1], dtype=torch.int64),
        'i32': torch.tensor([[0, -1], [2 ** 31 - 1, -(2 ** 31)]], dtype=torch.int32),
        'i16': torch.tensor([-32768, 32767, 5], dtype=torch.int16),
        'i8': torch.tensor([-128, 127, 0], dtype=torch.int8),
        'u8': torch.tensor([0, 255, 17], dtype=torch.uint8),
        'bool': torch.tensor([True, False, True], dtype=torch.bool),
        'empty': torch.zeros(0, 3, dtype=torch.float32),
        'scalar': torch.tensor(2.5, dtype=torch.float32),
    }
    save_safetensors(os.path.join(OUT, 'dtypes.safetensors'), t, {'format': 'pt', 'note': 'written by make_checkpoints.py'})
    ints = {k: [str(v) for v in t[k].flatten().tolist()] for k in ('i64', 'i32', 'i16', 'i8', 'u8')}
    ints['bool'] = [str(v).lower() for v in t['bool'].tolist()]
    return {'f64': t['f64'].tolist(), 'ints': ints, 'shapes': {k: list(v.shape) for k, v in t.items()}}


def main():
    os.makedirs(OUT, exist_ok=True)
    build_variants()
    ref = {'config': CFG, 'variants': {n: write_variant(n, v) for n, v in VARIANTS.items()}, 'dtypes': conversions()}
    with open(os.path.join(OUT, 'reference.json'), 'w') as f:
        json.dump(ref, f, separators=(",", ":"))
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print(f'wrote {len(VARIANTS)} model folders + dtypes.safetensors + reference.json to {OUT} ({total} bytes)')


def verify(folder, variant_name):
    """Check a folder written by the TypeScript saver: every canonical tensor matches the reference."""
    with open(os.path.join(OUT, 'reference.json')) as f:
        ref = json.load(f)['variants'][variant_name]
    idx = os.path.join(folder, 'model.safetensors.index.json')
    files = sorted(set(json.load(open(idx))['weight_map'].values())) if os.path.exists(idx) else ['model.safetensors']
    sd = {}
    for fn in files:
        t, meta = load_safetensors(os.path.join(folder, fn))
        assert meta == {'format': 'pt'}, meta
        sd.update(t)
    cfg = json.load(open(os.path.join(folder, 'config.json')))
    bad = 0
    for src, r in ref['tensors'].items():
        if r['canonical'] is None:
            continue
        got = stats(sd[r['canonical']])
        same = got['shape'] == r['shape'] and got['first'] == r['first'] and abs(got['sum'] - r['sum']) <= 1e-9 * (1 + abs(r['sum']))
        bad += not same
        if not same:
            print('MISMATCH', r['canonical'], got, r)
    print(f'{folder}: {len(sd)} tensors, dtypes {sorted({DT[v.dtype] for v in sd.values()})}, '
          f'architectures {cfg.get("architectures")}, torch_dtype {cfg.get("torch_dtype")}: '
          f'{"OK" if not bad else f"{bad} mismatches"}')
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == '--verify':
        verify(sys.argv[2], sys.argv[3])
    else:
        main()
