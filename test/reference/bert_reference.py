#!/usr/bin/env python3
"""PyTorch reference for the TypeScript BERT: logits, loss and gradients of the loss w.r.t. every parameter.

Hugging Face `transformers` is not installable here (no Debian package, no PyPI), so this file re-states
BertForSequenceClassification from transformers' modeling_bert.py (v4.x, eager attention) in plain torch,
module for module, so that `state_dict()` yields exactly Hugging Face's parameter names. Gradients come from
torch autograd, in float64, so the fixtures are an independent check of the TypeScript hand-written backward
pass (float32).

Run with Debian's python (python3-torch):  /usr/bin/python3 test/reference/bert_reference.py
Writes test/fixtures/parity/<case>.safetensors (+ <case>.json: config, inputs, labels, loss).
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'parity')


# ---------------------------------------------------------------- the model (mirrors modeling_bert.py)
class BertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c['vocab_size'], c['hidden_size'], padding_idx=c['pad_token_id'])
        self.position_embeddings = nn.Embedding(c['max_position_embeddings'], c['hidden_size'])
        self.token_type_embeddings = nn.Embedding(c['type_vocab_size'], c['hidden_size'])
        self.LayerNorm = nn.LayerNorm(c['hidden_size'], eps=c['layer_norm_eps'])
        self.dropout = nn.Dropout(c['hidden_dropout_prob'])

    def forward(self, input_ids, token_type_ids):
        T = input_ids.shape[1]
        position_ids = torch.arange(T).unsqueeze(0)
        e = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids) + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(e))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.nh = c['num_attention_heads']
        self.dh = c['hidden_size'] // self.nh
        H = c['hidden_size']
        self.query = nn.Linear(H, H)
        self.key = nn.Linear(H, H)
        self.value = nn.Linear(H, H)
        self.dropout = nn.Dropout(c['attention_probs_dropout_prob'])

    def split(self, x):
        B, T, _ = x.shape
        return x.view(B, T, self.nh, self.dh).permute(0, 2, 1, 3)

    def forward(self, h, ext_mask):
        q, k, v = self.split(self.query(h)), self.split(self.key(h)), self.split(self.value(h))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh) + ext_mask
        probs = self.dropout(F.softmax(scores, dim=-1))
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.shape[0], ctx.shape[1], -1)


class BertSelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c['hidden_size'], c['hidden_size'])
        self.LayerNorm = nn.LayerNorm(c['hidden_size'], eps=c['layer_norm_eps'])
        self.dropout = nn.Dropout(c['hidden_dropout_prob'])

    def forward(self, h, inp):
        return self.LayerNorm(self.dropout(self.dense(h)) + inp)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, h, m):
        return self.output(self.self(h, m), h)


def act_fn(name):
    if name == 'gelu':
        return lambda x: F.gelu(x)  # erf form
    if name in ('gelu_new', 'gelu_pytorch_tanh'):
        return lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    if name == 'relu':
        return F.relu
    raise ValueError(name)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c['hidden_size'], c['intermediate_size'])
        self.act = act_fn(c['hidden_act'])

    def forward(self, h):
        return self.act(self.dense(h))


class BertOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c['intermediate_size'], c['hidden_size'])
        self.LayerNorm = nn.LayerNorm(c['hidden_size'], eps=c['layer_norm_eps'])
        self.dropout = nn.Dropout(c['hidden_dropout_prob'])

    def forward(self, h, inp):
        return self.LayerNorm(self.dropout(self.dense(h)) + inp)


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, h, m):
        a = self.attention(h, m)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c['num_hidden_layers'])])

    def forward(self, h, m):
        for layer in self.layer:
            h = layer(h, m)
        return h


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c['hidden_size'], c['hidden_size'])

    def forward(self, h):
        return torch.tanh(self.dense(h[:, 0]))


class BertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c)

    def forward(self, input_ids, token_type_ids, attention_mask):
        dtype = self.embeddings.LayerNorm.weight.dtype
        ext = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
        return self.pooler(self.encoder(self.embeddings(input_ids, token_type_ids), ext))


class BertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_labels = c['num_labels']
        self.bert = BertModel(c)
        cd = c.get('classifier_dropout')
        self.dropout = nn.Dropout(cd if cd is not None else c['hidden_dropout_prob'])
        self.classifier = nn.Linear(c['hidden_size'], c['num_labels'])

    def forward(self, input_ids, token_type_ids, attention_mask, labels):
        logits = self.classifier(self.dropout(self.bert(input_ids, token_type_ids, attention_mask)))
        if self.num_labels == 1:
            loss = F.mse_loss(logits.squeeze(), labels.squeeze())
        else:
            loss = F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return logits, loss


# ---------------------------------------------------------------- a tiny safetensors reader and writer (independent of the TS ones)
def read_safetensors(path):
    """name -> float32 tensor (8-byte header length, JSON header, data); F32 tensors only."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == '__metadata__':
            continue
        if h['dtype'] != 'F32':
            raise SystemExit(f'{path}: tensor {name} is {h["dtype"]}; only F32 tensors are read')
        a, b = h['data_offsets']
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(h['shape'])
    return out


def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header['__metadata__'] = metadata
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.float32:
            dt = 'F32'
        elif t.dtype == torch.int32:
            dt = 'I32'
        else:
            raise ValueError(t.dtype)
        b = t.numpy().tobytes()
        header[name] = {'dtype': dt, 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ---------------------------------------------------------------- cases
def make_case(name, c, seq_lens, pairs, seed, ln_noise=0.3, std=0.3):
    g = torch.Generator().manual_seed(seed)
    model = BertForSequenceClassification(c).double()
    model.eval()  # dropout off: parity is checked in evaluation mode
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.endswith('LayerNorm.weight'):
                p.copy_(1.0 + ln_noise * torch.randn(p.shape, generator=g, dtype=torch.float64))
            else:
                p.copy_(std * torch.randn(p.shape, generator=g, dtype=torch.float64))
        # round weights to float32 so both sides start from identical values
        for p in model.parameters():
            p.copy_(p.float().double())

    B, T = len(seq_lens), max(seq_lens)
    ids = torch.zeros(B, T, dtype=torch.long)
    tt = torch.zeros(B, T, dtype=torch.long)
    am = torch.zeros(B, T, dtype=torch.long)
    for b, n in enumerate(seq_lens):
        toks = torch.randint(5, c['vocab_size'], (n,), generator=g)
        toks[0] = 2  # [CLS]-like
        toks[n - 1] = 3
        ids[b, :n] = toks
        am[b, :n] = 1
        if pairs:
            split = max(2, n // 2)
            toks[split - 1] = 3  # [SEP]
            ids[b, :n] = toks
            tt[b, split:n] = 1
    if c['num_labels'] == 1:
        labels = (5.0 * torch.rand(B, generator=g, dtype=torch.float64))
    else:
        labels = torch.randint(0, c['num_labels'], (B,), generator=g)

    logits, loss = model(ids, tt, am, labels)
    model.zero_grad()
    loss.backward()

    tensors = {}
    for pname, p in model.named_parameters():
        tensors[pname] = p.detach().float()
        tensors['grad.' + pname] = p.grad.detach().float()
    tensors['logits'] = logits.detach().float()
    tensors['input_ids'] = ids.int()
    tensors['token_type_ids'] = tt.int()
    tensors['attention_mask'] = am.int()
    write_safetensors(os.path.join(OUT, name + '.safetensors'), tensors, {'format': 'pt', 'torch': torch.__version__})
    meta = {
        'config': c,
        'labels': labels.tolist(),
        'loss': loss.item(),
        'batch_size': B,
        'seq_len': T,
        'seq_lens': seq_lens,
        'pairs': pairs,
        'seed': seed,
        'torch': torch.__version__,
        'reference': 'test/reference/bert_reference.py (float64 autograd, eval mode)',
    }
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    print(f'{name}: loss {loss.item():.6f}, {sum(p.numel() for p in model.parameters())} parameters')


BASE = dict(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, type_vocab_size=2, pad_token_id=0,
            initializer_range=0.02, classifier_dropout=None)

if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    make_case('cls3-gelu-pairs', dict(BASE, vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                      intermediate_size=64, hidden_act='gelu', max_position_embeddings=24,
                                      layer_norm_eps=1e-12, num_labels=3), [12, 7, 9, 3], True, 1)
    make_case('reg-gelunew-single', dict(BASE, vocab_size=50, hidden_size=24, num_hidden_layers=3, num_attention_heads=2,
                                         intermediate_size=40, hidden_act='gelu_new', max_position_embeddings=20,
                                         layer_norm_eps=1e-5, num_labels=1), [10, 4, 10], False, 2)
    make_case('cls2-gelu-long', dict(BASE, vocab_size=120, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=128, hidden_act='gelu', max_position_embeddings=64,
                                     layer_norm_eps=1e-12, num_labels=2), [40, 17, 33, 5, 26], True, 3)
