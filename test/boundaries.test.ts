import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, posix, resolve } from 'node:path'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEMPLATE_DIR } from '../gateway/scaffold/template-copy.js'

/**
 * The architecture's boundaries, read from the import specifiers of the sources (the model: unstorage's test of its
 * drivers' dependencies). The kernel is neutral vocabulary; connectors see the kit and the kernel, never the gateway;
 * every connector folder is registered and passes the conformance kit; `serve` never loads a simulator.
 */

const REPO = resolve(import.meta.dirname, '..')

interface ImportEdge {
  readonly specifier: string
  /** The repository path it resolves to (forward slashes), for relative specifiers. */
  readonly target?: string
  readonly typeOnly: boolean
  readonly dynamic: boolean
}

/**
 * The files tsconfig.build.json compiles, i.e. what ships: tests, the conformance kits and test support are what it
 * excludes, and those may use gateway code (the connector conformance kit checks definitions with the catalog loader).
 */
function builtSources(root: string): Set<string> {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.build.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    },
  })
  if (!parsed) throw new Error(`cannot read ${root}/tsconfig.build.json`)
  return new Set(parsed.fileNames.map((f) => posix.relative(root, f)))
}

/** Every .ts file under `dir` (repository-relative, forward slashes). */
function sourcesUnder(root: string, dir: string): string[] {
  const out: string[] = []
  const walk = (rel: string) => {
    const abs = join(root, rel)
    if (!existsSync(abs)) return
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const child = posix.join(rel, entry.name)
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(child)
      } else if (entry.name.endsWith('.ts')) {
        out.push(child)
      }
    }
  }
  walk(dir)
  return out.sort()
}

const parsedImports = new Map<string, ImportEdge[]>()

/** Import and export-from declarations and `import('…')` calls with a literal specifier. */
function importsOf(root: string, file: string): ImportEdge[] {
  const key = join(root, file)
  const cached = parsedImports.get(key)
  if (cached) return cached
  const source = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest, false)
  const edges: ImportEdge[] = []
  const add = (specifier: string, typeOnly: boolean, dynamic: boolean) => {
    const target = specifier.startsWith('.')
      ? posix.normalize(posix.join(posix.dirname(file), specifier)).replace(/\.js$/, '.ts')
      : undefined
    edges.push({ specifier, ...(target === undefined ? {} : { target }), typeOnly, dynamic })
  }
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause
      const allTypes =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)))
      add(node.moduleSpecifier.text, allTypes, false)
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.isTypeOnly, false)
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      add(node.arguments[0].text, false, true)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  parsedImports.set(key, edges)
  return edges
}

/** Imports from `files` whose target lies under one of `forbidden` (folders, with a trailing slash). */
function crossings(root: string, files: readonly string[], forbidden: readonly string[]): string[] {
  return files.flatMap((file) =>
    importsOf(root, file)
      .filter((edge) => edge.target !== undefined && forbidden.some((dir) => edge.target?.startsWith(dir)))
      .map((edge) => `${file} imports ${edge.specifier}`),
  )
}

/** connectors/** outside tests must not import the gateway; the kernel imports neither side. */
function layerViolations(root: string): string[] {
  const built = builtSources(root)
  const connectorSources = sourcesUnder(root, 'connectors').filter((f) => built.has(f))
  if (connectorSources.length === 0) throw new Error('tsconfig.build.json compiles no connector source')
  return [
    ...crossings(root, connectorSources, ['gateway/']),
    ...crossings(root, sourcesUnder(root, 'kernel'), ['gateway/', 'connectors/']),
  ]
}

/**
 * Each connectors/<dir> (but the kit) is in the registry, its simulator in simulators.ts, and runs the kit's suite.
 * `unregistered`: folders that are no connector type of their own (the generator's template) and only run the suite.
 */
function registrationViolations(root: string, unregistered: readonly string[] = []): string[] {
  const problems: string[] = []
  const registry = importsOf(root, 'connectors/registry.ts').map((e) => e.target)
  const simulators = existsSync(join(root, 'connectors/simulators.ts'))
    ? importsOf(root, 'connectors/simulators.ts').map((e) => e.target)
    : []
  const folders = readdirSync(join(root, 'connectors'), { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'kit')
    .map((e) => e.name)
  for (const dir of folders.sort()) {
    const conformance = `connectors/${dir}/conformance.test.ts`
    const runsSuite =
      existsSync(join(root, conformance)) &&
      importsOf(root, conformance).some((e) => e.target === 'connectors/kit/conformance/suite.ts') &&
      /\btestConnectorConformance\s*[<(]/.test(readFileSync(join(root, conformance), 'utf8'))
    if (!runsSuite) problems.push(`connectors/${dir} has no conformance test (${conformance} running the kit's suite)`)
    if (unregistered.includes(`connectors/${dir}`)) continue
    if (!registry.includes(`connectors/${dir}/index.ts`)) {
      problems.push(`connectors/${dir} is not registered in connectors/registry.ts`)
    }
    if (existsSync(join(root, 'connectors', dir, 'simulator/index.ts'))) {
      if (!simulators.includes(`connectors/${dir}/simulator/index.ts`)) {
        problems.push(`connectors/${dir}/simulator is not registered in connectors/simulators.ts`)
      }
    }
  }
  return problems
}

/** Simulators, their seed generators and the kit's simulator helpers. */
const isSimulatorModule = (path: string) =>
  /^connectors\/[^/]+\/simulator\//.test(path) ||
  path === 'connectors/simulators.ts' ||
  /^connectors\/kit\/(simulator[^/]*|seed-tools)\.ts$/.test(path)

/** Repository modules loaded at run time from `entries`: type-only imports are erased; `import()` is followed or not. */
function runtimeGraph(root: string, entries: readonly string[], followDynamic: boolean): Map<string, string> {
  const importer = new Map<string, string>(entries.map((e) => [e, '(entry)']))
  const queue = [...entries]
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const edge of importsOf(root, file)) {
      if (edge.typeOnly || edge.target === undefined || (edge.dynamic && !followDynamic)) continue
      if (importer.has(edge.target) || !edge.target.endsWith('.ts') || !existsSync(join(root, edge.target))) continue
      importer.set(edge.target, file)
      queue.push(edge.target)
    }
  }
  return importer
}

/**
 * Simulator modules that starting the CLI (any command: static imports of gateway/cli.ts) or running `serve` (its
 * static and dynamic imports) would load, each with the module that imports it.
 */
function servePathViolations(root: string): string[] {
  const graphs = [runtimeGraph(root, ['gateway/cli.ts'], false), runtimeGraph(root, ['gateway/cli/serve.ts'], true)]
  const found = new Set<string>()
  for (const graph of graphs) {
    for (const [module, by] of graph) if (isSimulatorModule(module)) found.add(`${by} loads ${module}`)
  }
  return [...found].sort()
}

describe('boundaries of this repository', () => {
  it('connectors/** (non-test) import nothing from gateway/; the kernel imports neither gateway/ nor connectors/', () => {
    expect(sourcesUnder(REPO, 'kernel').length).toBeGreaterThan(0)
    expect(layerViolations(REPO)).toEqual([])
  })

  it('registers every connector folder and its simulator, and runs the conformance kit for each', () => {
    // The generator's template is copied, not served: it is in neither registry, but passes the kit like the others.
    expect(existsSync(join(REPO, TEMPLATE_DIR, 'conformance.test.ts'))).toBe(true)
    expect(registrationViolations(REPO, [TEMPLATE_DIR])).toEqual([])
  })

  it('loads no simulator or seed generator on the serve path', () => {
    const serve = runtimeGraph(REPO, ['gateway/cli/serve.ts'], true)
    // The walk reaches the connector definitions (so it does follow the registry), and the demo does reach simulators.
    expect(serve.has('connectors/registry.ts')).toBe(true)
    expect(serve.has('connectors/housing-gongai/connector.ts')).toBe(true)
    expect([...runtimeGraph(REPO, ['gateway/cli/demo.ts'], true).keys()].some(isSimulatorModule)).toBe(true)
    expect(servePathViolations(REPO)).toEqual([])
  })

  it('loads no simulator module when the gateway and the CLI are imported (module hooks)', () => {
    // The static walk above, checked against Node's own loader: every repository module resolved is recorded.
    const hooks = `export async function resolve(specifier, context, next) {
      const result = await next(specifier, context)
      if (result.url.startsWith('file:')) (await import('node:fs')).appendFileSync(process.env.QIAO_LOADED, result.url + '\\n')
      return result
    }`
    const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)})`
    const out = join(tmpdir(), `qiao-loaded-${process.pid}-${Date.now()}.txt`)
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        `data:text/javascript,${encodeURIComponent(register)}`,
        '--input-type=module',
        '-e',
        // The gateway and tracing are what `serve` imports on start; `qiao --help` loads every command's module.
        [
          "await import('./gateway/gateway.ts')",
          "await import('./gateway/telemetry/tracing.ts')",
          "process.argv = [process.argv[0], 'qiao', '--help']",
          "await import('./gateway/cli.ts')",
        ].join('; '),
      ],
      { cwd: REPO, encoding: 'utf8', env: { ...process.env, QIAO_LOADED: out }, timeout: 60_000 },
    )
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toContain('serve')
    const recorded = readFileSync(out, 'utf8')
    rmSync(out, { force: true })
    const loaded = [...new Set(recorded.split('\n').filter(Boolean))]
      .filter((url) => url.startsWith(`file://${REPO}/`) && !url.includes('/node_modules/'))
      .map((url) => decodeURIComponent(url.slice(`file://${REPO}/`.length)))
    expect(loaded).toContain('connectors/registry.ts')
    expect(loaded.filter(isSimulatorModule)).toEqual([])
  }, 60_000)
})

describe('the boundary checks themselves', () => {
  let root: string
  const put = async (path: string, text: string) => {
    await mkdir(dirname(join(root, path)), { recursive: true })
    await writeFile(join(root, path), text)
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'qiao-boundaries-'))
    await put('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', noEmit: true } }))
    const exclude = ['**/*.test.ts', 'connectors/kit/conformance']
    await put('tsconfig.build.json', JSON.stringify({ extends: './tsconfig.json', include: ['connectors'], exclude }))
    await put('kernel/clock.ts', "import type { Connector } from '../connectors/kit/types.js'\n")
    await put('connectors/kit/types.ts', 'export interface Connector {}\n')
    // The conformance kit is test code (not built): it may use the gateway's catalog loader.
    await put(
      'connectors/kit/conformance/suite.ts',
      "import '../../../gateway/catalog/load.js'\nexport function testConnectorConformance() {}\n",
    )
    await put('connectors/kit/seed-tools.ts', 'export const seed = 1\n')
    await put('connectors/registry.ts', "import { good } from './good/index.js'\n")
    await put('connectors/simulators.ts', "import { goodSimulator } from './good/simulator/index.js'\n")
    await put('connectors/good/index.ts', "import type { Connector } from '../kit/types.js'\n")
    await put('connectors/good/simulator/index.ts', "import { seed } from '../../kit/seed-tools.js'\n")
    await put(
      'connectors/good/conformance.test.ts',
      "import { testConnectorConformance } from '../kit/conformance/suite.js'\ntestConnectorConformance({})\n",
    )
    // Test files may use gateway helpers; sources may not.
    await put('connectors/good/connector.test.ts', "import { x } from '../../gateway/x.js'\n")
    await put('connectors/stray/index.ts', "export { problem } from '../../gateway/errors/codes.js'\n")
    await put('connectors/stray/simulator/index.ts', 'export const s = 1\n')
    await put('gateway/cli.ts', "import './cli/serve.js'\nimport './cli/demo.js'\n")
    await put('gateway/cli/demo.ts', "const s = await import('../../connectors/simulators.js')\n")
    await put('gateway/cli/serve.ts', "const g = await import('../gateway.js')\n")
    await put('gateway/gateway.ts', "import '../connectors/registry.js'\nimport { leak } from './leak.js'\n")
    await put('gateway/leak.ts', "export { seed } from '../connectors/kit/seed-tools.js'\n")
  })
  afterAll(async () => {
    await rm(root, { recursive: true, force: true })
  })

  it('report a connector importing the gateway and a kernel importing the connectors', () => {
    expect(layerViolations(root)).toEqual([
      'connectors/stray/index.ts imports ../../gateway/errors/codes.js',
      'kernel/clock.ts imports ../connectors/kit/types.js',
    ])
  })

  it('report a folder that is not registered and has no conformance test', () => {
    expect(registrationViolations(root)).toEqual([
      "connectors/stray has no conformance test (connectors/stray/conformance.test.ts running the kit's suite)",
      'connectors/stray is not registered in connectors/registry.ts',
      'connectors/stray/simulator is not registered in connectors/simulators.ts',
    ])
    // A folder exempt from registration still needs its conformance test.
    expect(registrationViolations(root, ['connectors/stray'])).toEqual([
      "connectors/stray has no conformance test (connectors/stray/conformance.test.ts running the kit's suite)",
    ])
  })

  it('report a seed generator reached from serve, through a dynamic import, but not the demo’s simulators', () => {
    expect(servePathViolations(root)).toEqual(['gateway/leak.ts loads connectors/kit/seed-tools.ts'])
  })
})
