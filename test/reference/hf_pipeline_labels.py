#!/usr/bin/env python3
"""Runs transformers' own pipeline("text-classification") on an exported IRD Studio folder and prints the
label names it answers with, so a test can check that an export names its classes as users expect.

transformers 4.4 (the FISH reference's copy, ../shared/vendor) reads pytorch_model.bin, not safetensors, so
the weights are read here from model.safetensors (or its shards) with test/reference/hf_load_check.py's
independent reader and loaded strictly into transformers' BertForSequenceClassification built from the
folder's config.json; the tokenizer is transformers' BertTokenizer on the folder's vocab.txt.

Usage: PYTHONPATH=<transformers-4.4>/src /usr/bin/python3 test/reference/hf_pipeline_labels.py FOLDER TEXT...
Prints one JSON line: {"id2label": {...}, "labels": [label per text], "num_labels": N, "problem_type": ...}.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_load_check import read_safetensors  # noqa: E402

# transformers.pipelines imports every tokenizer module, and the XLM/FSMT ones import sacremoses, which
# Debian does not package; nothing here uses them, so an empty stand-in module lets the import finish.
if 'sacremoses' not in sys.modules:
    try:
        import sacremoses  # noqa: F401
    except ImportError:
        import types
        sys.modules['sacremoses'] = types.ModuleType('sacremoses')

from transformers import BertConfig, BertForSequenceClassification, BertTokenizer, pipeline  # noqa: E402


def load_weights(folder):
    index = os.path.join(folder, 'model.safetensors.index.json')
    files = sorted(set(json.load(open(index))['weight_map'].values())) if os.path.exists(index) else ['model.safetensors']
    state = {}
    for f in files:
        t, _ = read_safetensors(os.path.join(folder, f))
        state.update(t)
    return state


def main():
    folder, texts = sys.argv[1], sys.argv[2:]
    config = BertConfig.from_pretrained(folder)
    model = BertForSequenceClassification(config)
    state = {k: v.to(torch.float32) for k, v in load_weights(folder).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    unexpected = [k for k in unexpected if k not in ('bert.embeddings.position_ids', 'bert.embeddings.token_type_ids')]
    missing = [k for k in missing if k != 'bert.embeddings.position_ids']
    if missing or unexpected:
        print(json.dumps({'ok': False, 'error': f'missing {missing}, unexpected {unexpected}'}))
        sys.exit(1)
    model.eval()
    tok = BertTokenizer(os.path.join(folder, 'vocab.txt'), do_lower_case=json.load(open(os.path.join(folder, 'tokenizer_config.json'))).get('do_lower_case', True))
    # "text-classification" in current transformers; 4.4 registers the same TextClassificationPipeline
    # under its older name "sentiment-analysis" only.
    try:
        clf = pipeline('text-classification', model=model, tokenizer=tok)
    except KeyError:
        clf = pipeline('sentiment-analysis', model=model, tokenizer=tok)
    print(type(clf).__name__, file=sys.stderr)
    out = clf(texts)
    print(json.dumps({'ok': True, 'id2label': config.id2label, 'label2id': config.label2id, 'num_labels': config.num_labels,
                      'problem_type': getattr(config, 'problem_type', None), 'labels': [o['label'] for o in out]}))


if __name__ == '__main__':
    main()
