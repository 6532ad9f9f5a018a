#!/usr/bin/env bash
# Rebuild the embedded demo encoder (resources/models/ird-demo-bert) from scratch, offline:
#   1. the corpus: GLUE train splits (SST-2, CoLA, STS-B, RTE, WNLI) + WordNet glosses (Debian wordnet-base)
#   2. MLM + NSP pre-training in PyTorch (Debian python3-torch), CPU, seeded
#   3. copy into resources/ (the model card README.md there is written by hand from pretraining.json and
#      the fine-tuning results; keep it in step when you change anything here)
# Needs: apt-get install wordnet-base python3-torch; ../shared/data (GLUE files and the BERT uncased vocab).
# Took 37 min on the project's 2-core machine (1 torch thread, with other work running beside it).
# To train the shipped encoder further instead of from scratch, add `--init resources/models/ird-demo-bert`
# (and a new --out), then copy as below; pretraining.json records the total steps.
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsx scripts/demo-model/build-corpus.ts --out build/demo-corpus
OMP_WAIT_POLICY=passive /usr/bin/python3 scripts/demo-model/pretrain.py \
  --corpus build/demo-corpus --out build/ird-demo-bert \
  --layers 2 --hidden 128 --max-len 64 --tokens-per-batch 8192 --max-batch 256 \
  --lr 1e-3 --warmup 0.06 --weight-decay 0.01 --mask-prob 0.15 --steps 1000 --minutes 42 --threads 1 --seed 1234
mkdir -p resources/models/ird-demo-bert
cp build/ird-demo-bert/{config.json,vocab.txt,tokenizer_config.json,model.safetensors,pretraining.json} resources/models/ird-demo-bert/
