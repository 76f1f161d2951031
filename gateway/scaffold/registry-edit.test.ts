import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { addImport, addToRegistry, compareSources, RegistryEditError, registryProblems } from './registry-edit.js'

/** The registry as it was with one connector (the shape `qiao connector new` must keep formatted). */
const ONE = `import { housingGongai } from './housing-gongai/index.js'
import { housingSimulator } from './housing-gongai/simulator/index.js'
import type { SimulatorDefinition } from './kit/simulator.js'
import type { ConnectorDefinition } from './kit/types.js'

/** Every connector type the gateway can instantiate, by \`type:\` as written in catalog.yaml. */
export const connectorDefinitions: ReadonlyMap<string, ConnectorDefinition<never>> = new Map<
  string,
  ConnectorDefinition<never>
>([[housingGongai.type, housingGongai]])

/** Simulators runnable with \`qiao simulate <name>\` and started by the demo. */
export const simulatorDefinitions: ReadonlyMap<string, SimulatorDefinition> = new Map<string, SimulatorDefinition>([
  [housingSimulator.name, housingSimulator],
])
`

const water = {
  definition: 'waterDrainage',
  definitionSource: './water-drainage/index.js',
  simulator: 'waterDrainageSimulator',
  simulatorSource: './water-drainage/simulator/index.js',
}

/** What Biome makes of a registry text (format, lint fixes, import order), as `biome check --write` would. */
function biome(text: string): string {
  const run = spawnSync(
    join('node_modules', '.bin', 'biome'),
    ['check', '--write', '--colors=off', '--stdin-file-path=connectors/registry.ts'],
    { input: text, encoding: 'utf8' },
  )
  expect(run.status, run.stderr).toBe(0)
  return run.stdout
}

describe('addToRegistry', () => {
  it('adds the imports and entries in the layout Biome gives them', () => {
    const result = addToRegistry(ONE, water)
    expect(result).toContain("import type { ConnectorDefinition } from './kit/types.js'\nimport { waterDrainage } from")
    expect(result).toContain('>([\n  [housingGongai.type, housingGongai],\n  [waterDrainage.type, waterDrainage],\n])')
    expect(result).toContain('  [waterDrainageSimulator.name, waterDrainageSimulator],\n])')
    expect(biome(result)).toBe(result)
  })

  it('keeps the layout with more connectors, sorting `./water/` before `./water-drainage/`', () => {
    const more = addToRegistry(addToRegistry(ONE, water), {
      definition: 'drcTzxm',
      definitionSource: './drc-tzxm/index.js',
      simulator: 'drcSimulator',
      simulatorSource: './drc-tzxm/simulator/index.js',
    })
    const result = addToRegistry(more, {
      definition: 'water',
      definitionSource: './water/index.js',
      simulator: 'waterSimulator',
      simulatorSource: './water/simulator/index.js',
    })
    expect(result.indexOf("'./water/index.js'")).toBeLessThan(result.indexOf("'./water-drainage/index.js'"))
    expect(result.indexOf("'./drc-tzxm/index.js'")).toBeLessThan(result.indexOf("'./housing-gongai/index.js'"))
    expect(biome(result)).toBe(result)
  })

  it('starts an empty map inline', () => {
    const empty = ONE.replace('>([[housingGongai.type, housingGongai]])', '>()')
    expect(addToRegistry(empty, water)).toContain('>([[waterDrainage.type, waterDrainage]])')
  })

  it('refuses a registry that already has the connector, or whose maps it cannot find', () => {
    const once = addToRegistry(ONE, water)
    expect(registryProblems(once, water)).toEqual([
      'connectors/registry.ts already imports ./water-drainage/index.js',
      'connectors/registry.ts already imports ./water-drainage/simulator/index.js',
      'connectors/registry.ts already uses the name waterDrainage',
      'connectors/registry.ts already uses the name waterDrainageSimulator',
    ])
    expect(() => addToRegistry(once, water)).toThrow(RegistryEditError)
    const odd = ONE.replace('new Map<string, SimulatorDefinition>([', 'buildMap([')
    expect(registryProblems(odd, water)).toEqual([
      'cannot find the entries of simulatorDefinitions in connectors/registry.ts',
    ])
  })
})

describe('definitions and simulators in two files', () => {
  const [definitionsPart, simulatorsPart] = ONE.split('\n/** Simulators') as [string, string]
  const REGISTRY = definitionsPart
    .replace("import { housingSimulator } from './housing-gongai/simulator/index.js'\n", '')
    .replace("import type { SimulatorDefinition } from './kit/simulator.js'\n", '')
  const SIMULATORS = `import { housingSimulator } from './housing-gongai/simulator/index.js'
import type { SimulatorDefinition } from './kit/simulator.js'

/** Simulators${simulatorsPart}`

  it('edits in each file only the map it declares', () => {
    const registry = addToRegistry(REGISTRY, water)
    expect(registry).toContain("import { waterDrainage } from './water-drainage/index.js'")
    expect(registry).toContain('  [waterDrainage.type, waterDrainage],\n])')
    expect(registry).not.toContain('waterDrainageSimulator')
    expect(biome(registry)).toBe(registry)
    const simulators = addToRegistry(SIMULATORS, water, 'connectors/simulators.ts')
    expect(simulators).toContain("import { waterDrainageSimulator } from './water-drainage/simulator/index.js'")
    expect(simulators).toContain('  [waterDrainageSimulator.name, waterDrainageSimulator],\n])')
    expect(simulators).not.toContain("'./water-drainage/index.js'")
    expect(registryProblems(simulators, water, 'connectors/simulators.ts')).toEqual([
      'connectors/simulators.ts already imports ./water-drainage/simulator/index.js',
      'connectors/simulators.ts already uses the name waterDrainageSimulator',
    ])
  })

  it('refuses a file that declares neither map', () => {
    expect(registryProblems('export const x = 1\n', water, 'connectors/simulators.ts')).toEqual([
      'connectors/simulators.ts declares neither connectorDefinitions nor simulatorDefinitions',
    ])
  })
})

describe('import order', () => {
  it('compares sources as Biome sorts them', () => {
    const sorted = [
      'node:fs',
      'undici',
      '../kit/types.js',
      './drc-tzxm/index.js',
      './housing-gongai/index.js',
      './housing-gongai/simulator/index.js',
      './kit/simulator.js',
      './kit/types.js',
      './water/index.js',
      './water-drainage/index.js',
      './water2/index.js',
      './water10/index.js',
    ]
    expect([...sorted].reverse().sort(compareSources)).toEqual(sorted)
  })

  it('inserts into the leading import block only', () => {
    const text = "import { a } from './a.js'\nimport { c } from './c.js'\n\nconst x = 1\n"
    expect(addImport(text, "import { b } from './b.js'")).toBe(
      "import { a } from './a.js'\nimport { b } from './b.js'\nimport { c } from './c.js'\n\nconst x = 1\n",
    )
    expect(addImport(text, "import { d } from './d.js'")).toBe(
      "import { a } from './a.js'\nimport { c } from './c.js'\nimport { d } from './d.js'\n\nconst x = 1\n",
    )
  })
})
