import { describe, expect, it } from 'vitest'
import { hasConstantPredictions } from '../../../src/shared/domain'
import { CONSTANT_SPREAD, CONSTANT_TOP_CLASS_SHARE, constantWarning, predictionShape } from '../../../src/engine/metrics/constant'

describe('constant-prediction check', () => {
  it('classification: the most frequent class and its share; constant at ≥ 98 %', () => {
    expect(CONSTANT_TOP_CLASS_SHARE).toBe(0.98)
    const preds = [...Array(49).fill(1), 0]
    expect(predictionShape(preds, [], false)).toEqual({ topClass: 1, topClassShare: 0.98, constant: true })
    expect(predictionShape([...Array(48).fill(1), 0, 2], [], false)).toEqual({ topClass: 1, topClassShare: 0.96, constant: false })
    // a tie picks the lower class index, whatever the order
    expect(predictionShape([2, 0, 2, 0], [], false)?.topClass).toBe(0)
    expect(predictionShape([], [], false)).toBeNull()
  })

  it('regression: prediction std over label std (population), constant below 5 %', () => {
    expect(CONSTANT_SPREAD).toBe(0.05)
    // labels 0..4: std √2; predictions 2 ± 0.1 on four rows: std √(0.008) → spread √(0.004) ≈ 0.063
    const s = predictionShape([1.9, 2.1, 1.9, 2.1, 2], [0, 1, 2, 3, 4], true)!
    expect(s.predictionSpread).toBeCloseTo(Math.sqrt(0.008) / Math.sqrt(2), 12)
    expect(s.constant).toBe(false)
    expect(predictionShape([2.01, 1.99, 2, 2, 2], [0, 1, 2, 3, 4], true)?.constant).toBe(true)
    // nothing to compare with: no labels, missing labels, constant labels
    expect(predictionShape([1, 2], [], true)).toBeNull()
    expect(predictionShape([1, 2], [1, undefined], true)).toBeNull()
    expect(predictionShape([1, 2], [3, 3], true)).toBeNull()
  })

  it('says what the user sees, with the class name', () => {
    const w = constantWarning({ topClass: 1, topClassShare: 1, constant: true }, ['negative', 'positive'])
    expect(w).toMatch(/^predicts class "positive" for 100\.0 % of the dev rows: .*constant predictor/)
    expect(constantWarning({ predictionSpread: 0.001, constant: true })).toMatch(/spread 0\.1 % of the labels'/)
    expect(constantWarning({ topClass: 0, topClassShare: 0.6, constant: false })).toBeUndefined()
    // the shared predicate the runs table, the app and the CLI use recognises both kinds, and nothing else
    expect(hasConstantPredictions({ warnings: [w!] })).toBe(true)
    expect(hasConstantPredictions({ warnings: [constantWarning({ predictionSpread: 0.001, constant: true })!] })).toBe(true)
    expect(hasConstantPredictions({ warnings: ['some other warning'] })).toBe(false)
    expect(hasConstantPredictions({})).toBe(false)
  })
})
