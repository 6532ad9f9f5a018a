import { describe, expect, it } from 'vitest'
import { barRows, renderBars, type StudyGroup } from '../../scripts/demo-model/bars'

const g = (task: string, method: string, values: number[], nSamples = 1024, keepRatio = 0.005): StudyGroup => ({ task, method, keepRatio, nSamples, seeds: [0, 1, 2], values })

describe('the demo encoder quality bar table', () => {
  it('pairs FISH and IRD with the random mask seed by seed; the bar holds only when the margin beats the spread', () => {
    const rows = barRows(
      [
        g('sst2', 'fish', [0.8, 0.82, 0.81]),
        g('sst2', 'ird', [0.52, 0.6, 0.5]),
        g('sst2', 'random', [0.5, 0.51, 0.52]),
        g('sst2', 'fish', [0.1, 0.1, 0.1], 64), // another sample budget: not this table's
        g('sst2', 'fish', [0.1, 0.1, 0.1], 1024, 0.02) // another keep ratio
      ],
      0.005,
      1024
    )
    expect(rows.map((r) => [r.method, r.vsRandom?.holds])).toEqual([['fish', true], ['ird', false], ['random', undefined]])
    const fish = rows[0].vsRandom!
    expect(fish.margin).toBeCloseTo(0.81 - 0.51, 12)
    expect(fish.spread).toBeCloseTo(0.01, 12) // both stds are 0.01
    // differences .30 .31 .29: t = .30 / (.01 / √3) = 51.96 on 2 df, whose two-sided p is 1 − t / √(t² + 2)
    const t = 0.3 / (0.01 / Math.sqrt(3))
    expect(fish.p).toBeCloseTo(1 - t / Math.sqrt(t * t + 2), 8)
    // IRD: margin 0.0300 < spread (std of .52 .60 .50 = 0.0529)
    expect(rows[1].vsRandom!.margin).toBeCloseTo(0.03, 12)
    expect(renderBars(rows)).toContain('| sst2 | ird | 54.00 ± 5.29 (3) | 0 of 3 | +3.00 | 5.29 |')
  })
})
