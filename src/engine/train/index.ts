/**
 * Public face of masked fine-tuning: the trainer, sparse AdamW, the schedule, mask binding and sparse
 * deltas. Must not: add logic.
 */
export { train, type EpochSummary, type EvalResult, type TrainEvent, type TrainOptions, type TrainResult, type TrainStatus } from './trainer'
export { TRAIN_CHECKPOINT_VERSION, fingerprintMismatch, type CheckpointPolicy, type TrainCheckpoint, type TrainFingerprint, type TrainPosition } from './checkpoint'
export { SparseAdamW, clipGradNorm, type AdamWGroup, type AdamWOptions } from './adamw'
export { linearScheduleFactor, linearScheduleLr, resolveWarmupSteps } from './schedule'
export { MaskedParams, maskSize, validateMask, type MaskedSlot, type TrainMask } from './masked-params'
export { collate, encodeData, epochBatches, type EncodedExample, type EncodedSet, type TrainData } from './batches'
export { applyDelta, computeDelta, deltaSize, type DeltaEntry, type SparseDelta } from './delta'
export { benchMaskedTraining, randomKeepMask, type MaskedTrainBench } from './bench'
