#!/usr/bin/env python3
"""Checks that an exported Hugging Face folder loads as transformers' BertForSequenceClassification would
load it, and computes the same logits as IRD Studio's engine.

`transformers` is not installable here, so the model is test/reference/bert_reference.py's module-for-module
restatement of modeling_bert.py; loading follows from_pretrained's rules, strictly: config.json must name
the architecture, label maps and problem type; the weights (model.safetensors, or the shards listed in
model.safetensors.index.json) must hold every key of the model's state_dict with the right shape and no
other key (except buffers transformers itself ignores); vocab.txt and tokenizer_config.json must exist.
The safetensors reader here is independent of the TypeScript one.

Usage: /usr/bin/python3 test/reference/hf_load_check.py FOLDER CASES.json [--zip ARCHIVE.zip EXPECTED.json]
CASES.json: {"tol": 1e-4, "cases": [{"input_ids": [[...]], "token_type_ids": [[...]], "attention_mask": [[...]],
              "logits": [[...]]}]}  (the engine's logits)
--zip: also read ARCHIVE with zipfile and compare each entry's text with EXPECTED.json {"name": "text"}.
Prints one JSON line with the findings; exit 0 when everything holds, 1 otherwise.
"""
import json
import os
import struct
import sys
import zipfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_reference import BertForSequenceClassification  # noqa: E402

# Keys transformers' from_pretrained tolerates in a checkpoint without a warning (buffers).
ALLOWED_UNEXPECTED = {'bert.embeddings.position_ids', 'bert.embeddings.token_type_ids'}
DTYPES = {'F32': (torch.float32, 4), 'F16': (torch.float16, 2), 'BF16': (torch.bfloat16, 2), 'F64': (torch.float64, 8)}


def fail(msg):
    print(json.dumps({'ok': False, 'error': msg}))
    sys.exit(1)


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop('__metadata__', None)
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        if e['dtype'] not in DTYPES:
            fail(f'{path}: tensor {name} has dtype {e["dtype"]}, not a float type transformers would load as a parameter')
        dt, size = DTYPES[e['dtype']]
        b, end = e['data_offsets']
        count = 1
        for d in e['shape']:
            count *= d
        if end - b != count * size:
            fail(f'{path}: tensor {name}: data_offsets span {end - b} bytes, shape needs {count * size}')
        t = torch.frombuffer(bytearray(data[b:end]), dtype=dt) if count else torch.zeros(0, dtype=dt)
        out[name] = t.reshape(e['shape']).to(torch.float64)
    return out, meta


def load_weights(folder):
    single = os.path.join(folder, 'model.safetensors')
    index = os.path.join(folder, 'model.safetensors.index.json')
    if os.path.exists(single):
        sd, meta = read_safetensors(single)
        if not meta or meta.get('format') != 'pt':
            fail('model.safetensors: __metadata__ lacks format "pt" (transformers refuses such files)')
        return sd, ['model.safetensors']
    if not os.path.exists(index):
        fail('neither model.safetensors nor model.safetensors.index.json')
    with open(index) as f:
        idx = json.load(f)
    wm = idx['weight_map']
    shards = sorted(set(wm.values()))
    sd = {}
    for s in shards:
        part, meta = read_safetensors(os.path.join(folder, s))
        if not meta or meta.get('format') != 'pt':
            fail(f'{s}: __metadata__ lacks format "pt"')
        for k, v in part.items():
            if wm.get(k) != s:
                fail(f'{s} holds {k}, which the index maps to {wm.get(k)}')
            sd[k] = v
    if set(sd) != set(wm):
        fail(f'index lists {sorted(set(wm) - set(sd))[:3]} that no shard holds')
    if 'metadata' not in idx or 'total_size' not in idx['metadata']:
        fail('model.safetensors.index.json lacks metadata.total_size')
    return sd, shards


def main(argv):
    if len(argv) < 3:
        fail(__doc__)
    folder, cases_file = argv[1], argv[2]
    with open(os.path.join(folder, 'config.json')) as f:
        c = json.load(f)
    if c.get('architectures') != ['BertForSequenceClassification']:
        fail(f'config.json architectures is {c.get("architectures")}')
    if c.get('model_type') != 'bert':
        fail('config.json model_type must be "bert"')
    id2label, label2id = c.get('id2label'), c.get('label2id')
    if not isinstance(id2label, dict) or not isinstance(label2id, dict):
        fail('config.json needs id2label and label2id')
    # transformers derives num_labels from id2label
    if len(id2label) != c['num_labels']:
        fail(f'id2label has {len(id2label)} entries, num_labels is {c["num_labels"]}')
    if sorted(int(k) for k in id2label) != list(range(c['num_labels'])):
        fail('id2label keys must be "0".."num_labels-1"')
    if {v: int(k) for k, v in id2label.items()} != label2id:
        fail('label2id is not the inverse of id2label')
    if c['num_labels'] == 1 and c.get('problem_type') != 'regression':
        fail('a one-output model needs problem_type "regression"')
    for f in ('vocab.txt', 'tokenizer_config.json'):
        if not os.path.exists(os.path.join(folder, f)):
            fail(f'{f} missing')
    with open(os.path.join(folder, 'tokenizer_config.json')) as f:
        tok = json.load(f)
    with open(os.path.join(folder, 'vocab.txt'), encoding='utf-8') as f:
        vocab_lines = f.read().split('\n')
    if vocab_lines and vocab_lines[-1] == '':
        vocab_lines.pop()
    if len(vocab_lines) != c['vocab_size']:
        fail(f'vocab.txt has {len(vocab_lines)} tokens, config vocab_size {c["vocab_size"]}')

    sd, files = load_weights(folder)
    model = BertForSequenceClassification(c).double().eval()
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected and k not in ALLOWED_UNEXPECTED]
    if missing or unexpected:
        fail(f'missing keys {missing[:5]}, unexpected keys {unexpected[:5]}')
    bad = [k for k in expected if tuple(sd[k].shape) != tuple(expected[k].shape)]
    if bad:
        fail(f'shape mismatch: {[(k, tuple(sd[k].shape), tuple(expected[k].shape)) for k in bad[:3]]}')
    model.load_state_dict({k: sd[k] for k in expected}, strict=True)

    with open(cases_file) as f:
        cases = json.load(f)
    tol = cases.get('tol', 1e-4)
    worst = 0.0
    with torch.no_grad():
        for case in cases['cases']:
            ids = torch.tensor(case['input_ids'])
            tt = torch.tensor(case['token_type_ids'])
            am = torch.tensor(case['attention_mask'])
            dummy = torch.zeros(ids.shape[0], dtype=torch.long if c['num_labels'] > 1 else torch.float64)
            logits, _ = model(ids, tt, am, dummy)
            diff = (logits - torch.tensor(case['logits'], dtype=torch.float64)).abs().max().item()
            worst = max(worst, diff)
    result = {'ok': worst <= tol, 'max_abs_diff': worst, 'tol': tol, 'files': files, 'keys': len(expected),
              'num_labels': c['num_labels'], 'labels': [id2label[str(i)] for i in range(c['num_labels'])],
              'tokenizer_class': tok.get('tokenizer_class')}

    if len(argv) >= 6 and argv[3] == '--zip':
        with open(argv[5]) as f:
            want = json.load(f)
        with zipfile.ZipFile(argv[4]) as z:
            bad_entry = z.testzip()  # CRC of every entry
            if bad_entry is not None:
                fail(f'zip entry {bad_entry} fails its CRC check')
            got = {n: z.read(n).decode('utf-8') for n in z.namelist()}
        if got != want:
            fail(f'zip entries differ: {sorted(got)} vs {sorted(want)}')
        result['zip_entries'] = sorted(got)

    print(json.dumps(result))
    sys.exit(0 if result['ok'] else 1)


if __name__ == '__main__':
    main(sys.argv)
