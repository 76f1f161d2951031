import { describe, expect, it } from 'vitest'
import { boundHeapGrowth } from './heap-growth.js'

describe('bounded heap growth', () => {
  it('leaves an operator’s own factor alone, on the command line or in NODE_OPTIONS', () => {
    expect(boundHeapGrowth(['--heap-growing-percent=80'], '')).toBe(false)
    expect(boundHeapGrowth([], '--max-old-space-size=512 --heap_growing_percent=30')).toBe(false)
  })

  it('sets the gateway’s factor otherwise', () => {
    expect(boundHeapGrowth(['--enable-source-maps'], '--max-old-space-size=512')).toBe(true)
  })
})
