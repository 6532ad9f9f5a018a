"""PyTorch peer for scripts/gpu-check.sh: the FISH reference's batch-1 Fisher loop and dense AdamW training,
Hugging Face BertForSequenceClassification (random init, the bench configs: heads = hidden/64,
intermediate = 4·hidden, bert-base-uncased vocabulary), sequence length 128, on CUDA when present.

Fisher: as FISH's calculate_the_importance_label: one sample at a time, loss.backward(), add grad² of every
parameter into an accumulator (no batching). Training: batch 16, torch.optim.AdamW over every parameter.
Prints one JSON line per model; writes them to --out when given.
"""
import argparse
import json
import sys
import time

import torch

try:
    from transformers import BertConfig, BertForSequenceClassification
except ImportError as e:  # the GPU machine has transformers; a CPU dev machine may not
    print(json.dumps({"error": f"transformers is not installed ({e}): the PyTorch peer cannot run"}))
    sys.exit(0)

MODELS = {"tiny": (2, 128), "mini": (4, 256), "small": (4, 512), "base": (12, 768)}


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def bench(name, dev, seq, seconds, train_batch):
    layers, hidden = MODELS[name]
    cfg = BertConfig(vocab_size=30522, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=max(1, hidden // 64),
                     intermediate_size=4 * hidden, num_labels=2, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    torch.manual_seed(0)
    model = BertForSequenceClassification(cfg).to(dev)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1000, 30522, (max(64, train_batch * 4), seq), generator=g).to(dev)
    labels = torch.randint(0, 2, (ids.shape[0],), generator=g).to(dev)
    mask = torch.ones_like(ids)

    # FISH reference: batch-1 loop, grad² accumulated per parameter, eval mode (no dropout)
    model.eval()
    fisher = {n: torch.zeros_like(p) for n, p in model.named_parameters()}

    def fisher_one(i):
        model.zero_grad(set_to_none=True)
        out = model(input_ids=ids[i:i + 1], attention_mask=mask[i:i + 1], labels=labels[i:i + 1])
        out.loss.backward()
        for n, p in model.named_parameters():
            if p.grad is not None:
                fisher[n] += p.grad.detach() ** 2

    for i in range(3):
        fisher_one(i)
    sync(dev)
    n, t0 = 0, time.perf_counter()
    while n < 8 or time.perf_counter() - t0 < seconds:
        fisher_one(n % ids.shape[0])
        n += 1
    sync(dev)
    fisher_per_sec = n / (time.perf_counter() - t0)

    # dense AdamW training, batch train_batch
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5)

    def step(k):
        s = (k * train_batch) % (ids.shape[0] - train_batch + 1)
        opt.zero_grad(set_to_none=True)
        out = model(input_ids=ids[s:s + train_batch], attention_mask=mask[s:s + train_batch], labels=labels[s:s + train_batch])
        out.loss.backward()
        opt.step()

    for k in range(2):
        step(k)
    sync(dev)
    k, t0 = 0, time.perf_counter()
    while k < 3 or time.perf_counter() - t0 < seconds:
        step(k)
        k += 1
    sync(dev)
    train_per_sec = k * train_batch / (time.perf_counter() - t0)
    return {"model": name, "layers": layers, "hidden": hidden, "seq": seq, "device": str(dev),
            "gpu": torch.cuda.get_device_name(0) if dev.type == "cuda" else None, "torch": torch.__version__,
            "fisherBatch1PerSec": fisher_per_sec, "denseTrainPerSec": train_per_sec, "trainBatch": train_batch}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="mini,base")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--out")
    a = ap.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rows = []
    for name in a.models.split(","):
        r = bench(name, dev, a.seq, a.seconds, a.batch)
        print(json.dumps(r), flush=True)
        rows.append(r)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
