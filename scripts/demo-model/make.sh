#!/usr/bin/env bash
# Rebuild the embedded demo encoder (resources/models/ird-demo-bert) from scratch, offline:
#   1. the corpus: GLUE train splits (SST-2, CoLA, STS-B, RTE, WNLI) + WordNet glosses (Debian wordnet-base)
#      + GCIDE definitions and quotations (Debian dict-gcide): 386,156 units, 8.97 M tokens
#   2. MLM + NSP pre-training in PyTorch (Debian python3-torch + libopenblas0-pthread), CPU, 2 threads, seeded
#   3. copy into resources/ (the model card README.md there is written by hand from pretraining.json and
#      the fine-tuning results; keep it in step when you change anything here)
# Needs: apt-get install wordnet-base dict-gcide python3-torch libopenblas0-pthread; ../shared/data (GLUE
# files and the BERT uncased vocab). OpenBLAS, not the reference BLAS: without libopenblas0-pthread torch
# runs about 30x slower. OPENBLAS_CORETYPE/L2_SIZE are unset for this process only (they slow OpenBLAS).
# 4,500 steps took 101 min here (2 cores); --minutes is only a safety cap, so the steps decide.
# To train the shipped encoder further instead of from scratch, add `--init resources/models/ird-demo-bert`
# (and a new --out), then copy as below; pretraining.json records the total steps.
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsx scripts/demo-model/build-corpus.ts --out build/demo-corpus
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=passive /usr/bin/python3 scripts/demo-model/pretrain.py \
  --corpus build/demo-corpus --out build/ird-demo-bert \
  --layers 2 --hidden 128 --max-len 64 --tokens-per-batch 8192 --max-batch 256 \
  --lr 1e-3 --warmup 0.06 --weight-decay 0.01 --mask-prob 0.15 --steps 4500 --minutes 600 --threads 2 --seed 1234
mkdir -p resources/models/ird-demo-bert
cp build/ird-demo-bert/{config.json,vocab.txt,tokenizer_config.json,model.safetensors,pretraining.json} resources/models/ird-demo-bert/
cp build/demo-corpus/manifest.json resources/models/ird-demo-bert/corpus-manifest.json
