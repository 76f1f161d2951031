import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, posix, relative, resolve } from 'node:path'
import dockerignoreModule from '@balena/dockerignore'
import { Ajv } from 'ajv'
import draft07MetaSchema from 'ajv/dist/refs/json-schema-draft-07.json' with { type: 'json' }
import addFormatsModule from 'ajv-formats'
import { Copy, DockerfileParser, From, type Instruction } from 'dockerfile-ast'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { readConfig, SETTINGS } from '../gateway/config/settings.js'

/**
 * The deployment files (Dockerfile, .dockerignore, docker-compose.yml, deploy/) checked without Docker: there is
 * no Docker engine in CI, so nothing here builds or starts a container. What can be known from the files is:
 * the compose file is valid Compose Specification, every variable the Qiao containers get is one that Qiao reads,
 * the services, ports, volumes and URLs refer to each other consistently, and the Dockerfile builds and copies
 * what actually runs.
 */

const ROOT = resolve(import.meta.dirname, '..')
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')
const addFormats = addFormatsModule.default
// CommonJS: the factory is module.exports and, for TypeScript's view of the types, its own `default`.
const dockerignore = dockerignoreModule.default

// ---------------------------------------------------------------------------------------------------------------
// docker-compose.yml

type Environment = Record<string, string | number | boolean | null> | string[]
interface ComposeService {
  image?: string
  build?: unknown
  command?: string | string[]
  entrypoint?: string | string[]
  environment?: Environment
  env_file?: unknown
  healthcheck?: { test?: string | string[]; disable?: boolean }
  depends_on?: string[] | Record<string, { condition: string; restart?: boolean }>
  volumes?: (string | { type: string; source?: string; target: string; read_only?: boolean })[]
  ports?: (string | number)[]
  expose?: (string | number)[]
  restart?: string
}
interface ComposeFile {
  version?: unknown
  services: Record<string, ComposeService>
  volumes?: Record<string, unknown>
}

const COMPOSE_TEXT = read('docker-compose.yml')
// Compose resolves YAML anchors and `<<` merge keys before validating, so the test does too.
const compose = parse(COMPOSE_TEXT, { merge: true }) as ComposeFile
const services = compose.services

/** The Qiao image (the Dockerfile's), as the compose file names it. */
const QIAO_IMAGE = 'qiao:local'
const qiaoServices = Object.entries(services).filter(([, s]) => s.image === QIAO_IMAGE)
const commandOf = (s: ComposeService): string[] =>
  Array.isArray(s.command) ? s.command : s.command === undefined ? [] : s.command.split(/\s+/)
const gateways = qiaoServices.filter(([, s]) => commandOf(s)[0] === 'serve')
const simulators = qiaoServices.filter(([, s]) => commandOf(s)[0] === 'simulate')
/** Qiao services that run other gateway code (init-keys: dev key, audit key, `qiao token`). */
const tools = qiaoServices.filter(([, s]) => !['serve', 'simulate'].includes(commandOf(s)[0] ?? ''))

function environmentOf(s: ComposeService): Record<string, string> {
  const env: Record<string, string> = {}
  if (Array.isArray(s.environment)) {
    for (const entry of s.environment) {
      const i = entry.indexOf('=')
      env[i < 0 ? entry : entry.slice(0, i)] = i < 0 ? '' : entry.slice(i + 1)
    }
  } else {
    for (const [k, v] of Object.entries(s.environment ?? {})) env[k] = v === null ? '' : String(v)
  }
  return env
}

/** Compose interpolation with an empty shell environment: `${NAME:-default}`, `${NAME-default}`, `${NAME}`, `$$`. */
function interpolate(value: string): string {
  return value
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_m, _name: string, fallback?: string) => fallback ?? '')
    .replace(/\$\$/g, '$')
}
const interpolationVariables = [...COMPOSE_TEXT.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] as string)

/** The compose-spec JSON Schema shipped by the `dclint` package (see README "Deployment" for its provenance). */
function composeSpecSchema(): Record<string, unknown> {
  const require = createRequire(import.meta.url)
  const dir = dirname(require.resolve('dclint/package.json'))
  return JSON.parse(readFileSync(join(dir, 'schemas', 'compose.schema.json'), 'utf8')) as Record<string, unknown>
}

function composeValidator() {
  const schema = composeSpecSchema()
  // The schema is draft-07 but names its meta-schema by the https URL without '#'; it is the same meta-schema.
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, allowUnionTypes: true })
  ajv.addMetaSchema({ ...draft07MetaSchema, $id: String(schema.$schema) })
  addFormats(ajv)
  return ajv.compile(schema)
}

/** Runs the dclint CLI (errors only, JSON report): its exit code and the rules of the errors it reports. */
function dclint(file: string): Promise<{ code: number | null; errors: string[] }> {
  const require = createRequire(import.meta.url)
  const bin = join(dirname(require.resolve('dclint/package.json')), 'bin', 'dclint.cjs')
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, '--quiet', '--formatter', 'json', '--color', 'false', file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.on('error', fail)
    child.on('exit', (code) => {
      const report = JSON.parse(out) as { messages: { rule: string; type: string }[] }[]
      const errors = report.flatMap((r) => r.messages.filter((m) => m.type === 'error').map((m) => m.rule))
      done({ code, errors })
    })
  })
}

describe('docker-compose.yml', () => {
  const validate = composeValidator()

  it('uses the current compose-spec schema (draft-07, patternProperties, start_interval, volume subpath)', () => {
    const schema = composeSpecSchema() as {
      title: string
      $schema: string
      definitions: Record<string, { properties?: Record<string, unknown> }>
    }
    expect(schema.title).toBe('Compose Specification')
    expect(schema.$schema).toContain('draft-07')
    expect(schema.definitions.healthcheck?.properties).toHaveProperty('start_interval')
    expect(JSON.stringify(schema.definitions.service)).toContain('"subpath"')
  })

  it('is valid against the Compose Specification schema', () => {
    const valid = validate(compose)
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([])
    expect(valid).toBe(true)
  })

  it('the schema check bites: an unknown service key or a wrong depends_on condition is refused', () => {
    const broken = structuredClone(compose) as ComposeFile & { services: Record<string, Record<string, unknown>> }
    ;(broken.services['gateway-1'] as Record<string, unknown>).helthcheck = { test: ['CMD', 'true'] }
    expect(validate(broken)).toBe(false)
    const wrongCondition = structuredClone(compose) as ComposeFile
    ;(wrongCondition.services.nginx as { depends_on: Record<string, { condition: string }> }).depends_on['gateway-1'] =
      { condition: 'service_ready' }
    expect(validate(wrongCondition)).toBe(false)
  })

  // dclint, run as its CLI, adds its error-level rules to the schema (duplicate published ports or container names,
  // ports bound to no interface, a `version:` key); its style warnings (key order) are not errors and are left out.
  it('passes dclint with no errors; dclint bites on an unknown service key', async () => {
    expect(await dclint(join(ROOT, 'docker-compose.yml'))).toEqual({ code: 0, errors: [] })
    const dir = mkdtempSync(join(tmpdir(), 'qiao-dclint-'))
    try {
      const broken = join(dir, 'docker-compose.yml')
      writeFileSync(broken, COMPOSE_TEXT.replace(/^(\s+)healthcheck:/m, '$1helthcheck:'))
      const result = await dclint(broken)
      expect(result.code).toBe(1)
      expect(result.errors).toContain('invalid-schema')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000) // two CLI starts: slow on a busy shared machine, never a speed assertion

  it('follows the Compose Specification: no `version:` key', () => {
    expect(compose.version).toBeUndefined()
    expect(COMPOSE_TEXT).not.toMatch(/^version\s*:/m)
  })

  it('runs two gateway replicas from the one image, each with its own audit log id and data volume', () => {
    expect(gateways.map(([name]) => name).sort()).toEqual(['gateway-1', 'gateway-2'])
    const logIds = gateways.map(([, s]) => environmentOf(s).QIAO_AUDIT_LOG_ID)
    expect(new Set(logIds).size).toBe(2)
    const dataVolumes = gateways.map(([, s]) =>
      (s.volumes ?? []).find((v) => (typeof v === 'string' ? v.endsWith(':/var/lib/qiao') : false)),
    )
    expect(dataVolumes.every((v) => v !== undefined)).toBe(true)
    expect(new Set(dataVolumes).size).toBe(2)
    // Everything else is shared: the same audit database, state store, quota Redis, key set and catalog.
    const [a, b] = gateways.map(([, s]) => environmentOf(s))
    for (const name of [
      'QIAO_AUDIT_URL',
      'QIAO_STATE_URL',
      'QIAO_QUOTA_REDIS_URL',
      'QIAO_JWKS_FILE',
      'QIAO_ISSUER',
      'QIAO_CATALOG',
    ]) {
      expect(a?.[name], name).toBeDefined()
      expect(a?.[name], name).toBe(b?.[name])
    }
  })

  describe('every variable a Qiao container gets is one that it reads', () => {
    const settingNames = new Set(Object.values(SETTINGS).map((s) => s.name))
    // Variables catalog.yaml interpolates into connector options (`${NAME:-default}`).
    const catalogVariables = new Set([...read('catalog.yaml').matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1] as string))
    // OTEL_* variables the gateway's OpenTelemetry SDK (@opentelemetry/sdk-node) reads, from the specification's
    // "Environment Variable Specification" (general SDK, batch span processor, exporter selection) and the OTLP
    // exporter configuration. Kept explicit so that a typo such as OTEL_EXPORTER_OTLP_ENDPIONT fails here.
    const otelVariables = new Set([
      'OTEL_SDK_DISABLED',
      'OTEL_SERVICE_NAME',
      'OTEL_RESOURCE_ATTRIBUTES',
      'OTEL_LOG_LEVEL',
      'OTEL_PROPAGATORS',
      'OTEL_TRACES_SAMPLER',
      'OTEL_TRACES_SAMPLER_ARG',
      'OTEL_TRACES_EXPORTER',
      'OTEL_METRICS_EXPORTER',
      'OTEL_LOGS_EXPORTER',
      'OTEL_BSP_SCHEDULE_DELAY',
      'OTEL_BSP_EXPORT_TIMEOUT',
      'OTEL_BSP_MAX_QUEUE_SIZE',
      'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
      'OTEL_EXPORTER_OTLP_HEADERS',
      'OTEL_EXPORTER_OTLP_TIMEOUT',
      'OTEL_EXPORTER_OTLP_COMPRESSION',
      'OTEL_NODE_RESOURCE_DETECTORS',
    ])

    it('finds the gateways, the simulators and the tools among the services', () => {
      expect(gateways.length).toBe(2)
      expect(simulators.map(([, s]) => commandOf(s)[1]).sort()).toEqual(['drc', 'housing', 'market'])
      expect(tools.map(([name]) => name)).toEqual(['init-keys'])
      expect(catalogVariables).toContain('QIAO_HOUSING_URL')
    })

    for (const [name, service] of [...gateways, ...tools]) {
      it(`${name}: settings, catalog variables and OTEL_* only`, () => {
        expect(service.env_file, 'env_file would hide variables from this check').toBeUndefined()
        const unknown = Object.keys(environmentOf(service)).filter(
          (v) => !settingNames.has(v) && !catalogVariables.has(v) && !otelVariables.has(v),
        )
        expect(unknown, `not read by the gateway: ${unknown.join(', ')}`).toEqual([])
      })
    }

    for (const [name, service] of gateways) {
      it(`${name}: the settings parse (readConfig accepts them)`, () => {
        const env = Object.fromEntries(Object.entries(environmentOf(service)).map(([k, v]) => [k, interpolate(v)]))
        const result = readConfig(env, '/app', { requireKeySource: true })
        expect(result.ok ? [] : result.errors).toEqual([])
        if (!result.ok) return
        expect(result.config.demoMode).toBe(false)
        expect(result.config.host).toBe('0.0.0.0')
        expect(result.config.auditLogId).toBe(env.QIAO_AUDIT_LOG_ID)
        // Replicas share one state store (idempotency keys): PostgreSQL, never each its own embedded file.
        expect(new URL(result.config.stateUrl ?? 'file:').protocol).toBe('postgres:')
      })
    }

    for (const [name, service] of simulators) {
      const simulator = commandOf(service)[1] as string
      it(`${name}: only variables the ${simulator} simulator reads`, () => {
        expect(service.env_file).toBeUndefined()
        const readsEnv = simulatorEnvironmentReads(simulator)
        const unknown = Object.keys(environmentOf(service)).filter((v) => !readsEnv.has(v))
        expect(unknown, `not read by the ${simulator} simulator: ${unknown.join(', ')}`).toEqual([])
      })
    }

    it('the simulate command and the simulator kit read no variables of their own', () => {
      for (const file of ['gateway/cli/simulate.ts', 'connectors/kit/simulator.ts']) {
        expect(read(file), file).not.toMatch(/process\.env/)
      }
      expect(simulatorEnvironmentReads('market')).toEqual(new Set(['QIAO_MARKET_DB_URL']))
      expect(simulatorEnvironmentReads('housing')).toEqual(new Set())
    })
  })

  it('points the gateways at services of this file: simulators, databases, collector', () => {
    for (const [, gateway] of gateways) {
      const env = environmentOf(gateway)
      for (const [variable, raw] of Object.entries(env)) {
        const value = interpolate(raw)
        if (!/^[a-z][a-z0-9+.-]*:\/\//.test(value)) continue
        const url = new URL(value)
        expect(Object.keys(services), `${variable}=${url.protocol}//${url.host}`).toContain(url.hostname)
        // A simulator's URL uses the port it is started on.
        const target = services[url.hostname] as ComposeService
        const args = commandOf(target)
        if (args[0] === 'simulate') expect(url.port, variable).toBe(args[args.indexOf('--port') + 1])
      }
      // The seed job fills the very database the market connector reads.
      const seed = simulators.find(([, s]) => commandOf(s)[1] === 'market')?.[1] as ComposeService
      expect(environmentOf(seed).QIAO_MARKET_DB_URL).toBe(env.QIAO_MARKET_DB_URL)
    }
    // Simulators listen on every interface of their container, not just loopback.
    for (const [name, s] of simulators.filter(([, s]) => commandOf(s)[1] !== 'market')) {
      const args = commandOf(s)
      expect(args[args.indexOf('--host') + 1], name).toBe('0.0.0.0')
    }
  })

  it('keeps the gateways’ metrics listener internal: its own port, published by no service', () => {
    for (const [name, gateway] of gateways) {
      const env = environmentOf(gateway)
      const metricsPort = env.QIAO_METRICS_PORT
      expect(metricsPort, `${name}: QIAO_METRICS_PORT`).toMatch(/^\d+$/)
      expect(metricsPort, `${name}: metrics on the public port`).not.toBe(env.QIAO_PORT)
      for (const [service, s] of Object.entries(services)) {
        const published = (s.ports ?? []).map((p) => String(p).split(':').at(-1)?.split('/')[0])
        if (service === name) expect(published, `${name} publishes ports`).toEqual([])
        expect(published, `${service} publishes the metrics port`).not.toContain(metricsPort)
      }
    }
  })

  it('waits for what it depends on: healthy services have a health check, one-shot jobs do not restart', () => {
    for (const [name, service] of Object.entries(services)) {
      const dependsOn = service.depends_on ?? {}
      expect(Array.isArray(dependsOn), `${name}: use the long depends_on syntax with a condition`).toBe(false)
      for (const [target, { condition }] of Object.entries(dependsOn)) {
        const dependency = services[target]
        expect(dependency, `${name} depends on unknown service ${target}`).toBeDefined()
        if (condition === 'service_healthy') {
          expect(dependency?.healthcheck?.test, `${target} needs a healthcheck for ${name}`).toBeDefined()
          expect(dependency?.healthcheck?.disable).not.toBe(true)
        }
        if (condition === 'service_completed_successfully') expect(dependency?.restart, target).toBe('no')
      }
    }
    for (const name of ['gateway-1', 'gateway-2', 'nginx', 'postgres', 'redis', 'housing-sim', 'drc-sim', 'jaeger']) {
      expect(services[name]?.healthcheck?.test, name).toBeDefined()
    }
  })

  it('declares every named volume it mounts, and every file it bind-mounts exists', () => {
    const declared = Object.keys(compose.volumes ?? {})
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0] : volume.source
        if (source === undefined) continue
        if (source.startsWith('.') || source.startsWith('/')) {
          expect(existsSync(join(ROOT, source)), `${name}: ${source}`).toBe(true)
        } else {
          expect(declared, `${name}: volume ${source}`).toContain(source)
        }
      }
    }
  })

  it('documents its interpolation variables in README', () => {
    const readme = read('README.md')
    expect(interpolationVariables.length).toBeGreaterThan(0)
    for (const variable of new Set(interpolationVariables)) expect(readme.includes(variable), variable).toBe(true)
  })
})

/**
 * Environment variables a simulator reads: `process.env.NAME`, `process.env['NAME']` and `process.env[CONST]` with
 * `const CONST = 'NAME'`, in the sources of the connector whose simulator/index.ts defines `name: '<simulator>'`.
 */
function simulatorEnvironmentReads(simulator: string): Set<string> {
  const connectorDir = readdirSync(join(ROOT, 'connectors')).find((dir) => {
    const index = join(ROOT, 'connectors', dir, 'simulator', 'index.ts')
    return existsSync(index) && readFileSync(index, 'utf8').includes(`name: '${simulator}'`)
  })
  if (connectorDir === undefined) throw new Error(`no connectors/*/simulator/index.ts defines simulator ${simulator}`)
  const sources = listFiles(join(ROOT, 'connectors', connectorDir, 'simulator'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n')
  const names = new Set<string>()
  for (const m of sources.matchAll(
    /process\.env(?:\.([A-Z0-9_]+)|\[\s*(?:'([A-Z0-9_]+)'|([A-Za-z_][A-Za-z0-9_]*))\s*\])/g,
  )) {
    if (m[1] ?? m[2]) names.add((m[1] ?? m[2]) as string)
    else {
      const constant = new RegExp(`\\b${m[3]}\\s*=\\s*'([A-Z0-9_]+)'`).exec(sources)
      if (!constant) throw new Error(`${simulator} simulator reads process.env[${m[3]}]; cannot resolve ${m[3]}`)
      names.add(constant[1] as string)
    }
  }
  return names
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    return statSync(path).isDirectory() ? listFiles(path) : [path]
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Dockerfile and .dockerignore

interface Stage {
  /** The base image, with the ARG defaults it names applied. */
  readonly from: string
  readonly name: string | undefined
  readonly instructions: Instruction[]
}

/** Dockerfile stages as dockerfile-ast parses them: instructions grouped by the FROM that begins each. */
function parseDockerfile(text: string): { stages: Stage[] } {
  const dockerfile = DockerfileParser.parse(text)
  const stages: Stage[] = []
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction instanceof From) {
      const image = instruction.getExpandedArguments()[0]?.getValue() ?? ''
      stages.push({ from: image, name: instruction.getBuildStage() ?? undefined, instructions: [] })
    } else {
      stages.at(-1)?.instructions.push(instruction)
    }
  }
  return { stages }
}

/** An instruction's arguments with line continuations joined and flags (`--from=…`, `--interval=…`) taken off. */
const argsOf = (instruction: Instruction): string => instruction.getArgumentsContent() ?? ''

const DOCKERFILE = parseDockerfile(read('Dockerfile'))
/** Docker's own .dockerignore semantics (the last matching rule wins, `!` re-includes), from @balena/dockerignore. */
const DOCKERIGNORE = dockerignore().add(read('.dockerignore'))
const dockerIgnored = (path: string): boolean => DOCKERIGNORE.ignores(path)

function jsonArray(args: string): string[] {
  const parsed = JSON.parse(args) as unknown
  if (!Array.isArray(parsed)) throw new Error(`expected exec form (JSON array): ${args}`)
  return parsed as string[]
}

/** COPY sources and destination, and the stage of --from. */
function copyArgs(copy: Instruction): { from: string | undefined; sources: string[]; destination: string } {
  const from = copy instanceof Copy ? (copy.getFromFlag()?.getValue() ?? undefined) : undefined
  const paths = copy.getArguments().map((a) => a.getValue())
  return { from, sources: paths.slice(0, -1), destination: paths[paths.length - 1] as string }
}

describe('Dockerfile', () => {
  const { stages } = DOCKERFILE
  const runtime = stages[stages.length - 1] as Stage
  const build = stages.find((s) => s.name === 'build') as Stage
  const of = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword)
  const lastArgs = (stage: Stage, keyword: string) => {
    const last = of(stage, keyword).at(-1)
    return last === undefined ? undefined : argsOf(last)
  }
  const workdirOf = (stage: Stage) => lastArgs(stage, 'WORKDIR') ?? '/'

  it('is multi-stage on node:20-bookworm-slim: a build stage and a runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    expect(build).toBeDefined()
    for (const stage of stages) expect(stage.from).toBe('node:20-bookworm-slim')
    expect(of(build, 'RUN').map(argsOf)).toContain('npm run build')
  })

  it('runs as a non-root user in the final stage', () => {
    const user = lastArgs(runtime, 'USER')
    expect(user).toBeDefined()
    expect(['root', '0', '0:0']).not.toContain(user)
  })

  it('installs production dependencies only in the final stage', () => {
    const runs = of(runtime, 'RUN').map(argsOf)
    expect(runs.some((r) => /\bnpm (ci|prune)\b[^&]*--omit=dev/.test(r))).toBe(true)
    expect(runs.some((r) => /\bnpm (ci|install)\b(?![^&]*--omit=dev)/.test(r))).toBe(false)
  })

  it('has a HEALTHCHECK that runs node (no curl in slim images) against /healthz', () => {
    const healthcheck = lastArgs(runtime, 'HEALTHCHECK') ?? ''
    const cmd = jsonArray(healthcheck.slice(healthcheck.indexOf('CMD') + 3).trim())
    expect(cmd[0]).toBe('node')
    const script = cmd[1] as string
    // The script it runs is copied into the image, and defaults to the gateway's liveness endpoint.
    const copied = of(runtime, 'COPY').flatMap((c) => {
      const { sources, destination } = copyArgs(c)
      return sources.map((s) => posix.join(posix.resolve(workdirOf(runtime), destination), posix.basename(s)))
    })
    expect(copied).toContain(script)
    expect(read(posix.relative('/app', script))).toContain('/healthz')
  })

  it('starts the built CLI: ENTRYPOINT node dist/gateway/cli.js, CMD serve', () => {
    expect(jsonArray(lastArgs(runtime, 'ENTRYPOINT') ?? '')).toEqual(['node', 'dist/gateway/cli.js'])
    expect(jsonArray(lastArgs(runtime, 'CMD') ?? '')).toEqual(['serve'])
    const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string>; type: string }
    expect(pkg.bin.qiao).toBe('dist/gateway/cli.js')
    expect(pkg.type).toBe('module') // so package.json must be in the image next to dist/
    // tsc maps gateway/cli.ts to dist/gateway/cli.js (outDir dist, rootDir .).
    const tsconfig = JSON.parse(read('tsconfig.json')) as { compilerOptions: { outDir: string; rootDir: string } }
    expect(tsconfig.compilerOptions).toMatchObject({ outDir: 'dist', rootDir: '.' })
    expect(existsSync(join(ROOT, 'gateway/cli.ts'))).toBe(true)
  })

  it('COPYs only paths that exist in the repo and are in the build context, or that the build stage produces', () => {
    for (const stage of stages) {
      for (const copy of of(stage, 'COPY')) {
        const { from, sources } = copyArgs(copy)
        for (const source of sources) {
          if (from === undefined) {
            const path = source.replace(/\/$/, '')
            expect(existsSync(join(ROOT, path)), `COPY ${source}: not in the repo`).toBe(true)
            const files = statSync(join(ROOT, path)).isDirectory()
              ? listFiles(join(ROOT, path)).map((f) => relative(ROOT, f))
              : [path]
            const kept = files.filter((f) => !dockerIgnored(f))
            expect(kept.length, `COPY ${source}: excluded by .dockerignore`).toBeGreaterThan(0)
          } else {
            const producer = stages.find((s) => s.name === from) as Stage
            expect(producer, `COPY --from=${from}`).toBeDefined()
            const outDir = (JSON.parse(read('tsconfig.json')) as { compilerOptions: { outDir: string } })
              .compilerOptions.outDir
            const produced = [posix.join(workdirOf(producer), outDir)]
            expect(produced, `COPY --from=${from} ${source}`).toContain(source.replace(/\/$/, ''))
          }
        }
      }
    }
  })

  it('gives the build stage everything tsconfig.build.json compiles', () => {
    const copied = of(build, 'COPY').flatMap((c) => copyArgs(c).sources.map((s) => s.replace(/\/$/, '')))
    const buildConfig = JSON.parse(read('tsconfig.build.json')) as { extends: string; include: string[] }
    expect(copied).toContain('tsconfig.build.json')
    expect(copied).toContain(posix.normalize(buildConfig.extends))
    for (const dir of buildConfig.include) expect(copied).toContain(dir)
    for (const file of ['package.json', 'package-lock.json']) expect(copied).toContain(file)
    // Sources that a build needs are not dropped by .dockerignore (tests are, and the build excludes them anyway).
    for (const file of ['gateway/cli.ts', 'connectors/registry.ts', 'kernel/data/admin-divisions.generated.json'])
      expect(dockerIgnored(file), file).toBe(false)
    for (const path of ['node_modules/x', 'dist/gateway/cli.js', '.qiao/dev-signing-key.jwk.json', '.git/HEAD'])
      expect(dockerIgnored(path), path).toBe(true)
  })

  it('copies what the gateway reads at run time: catalog.yaml and every schema it names', () => {
    const copied = of(runtime, 'COPY')
      .filter((c) => copyArgs(c).from === undefined)
      .flatMap((c) => copyArgs(c).sources.map((s) => s.replace(/\/$/, '')))
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'schemas', 'catalog.yaml']))
    const schemaFiles = [...read('catalog.yaml').matchAll(/^\s*(?:request|response):\s*(\S+)\s*$/gm)].map(
      (m) => m[1] as string,
    )
    expect(schemaFiles.length).toBeGreaterThan(0)
    for (const file of schemaFiles) {
      expect(file.startsWith('schemas/'), file).toBe(true)
      expect(existsSync(join(ROOT, file)), file).toBe(true)
    }
  })

  it('sets only gateway settings, listens where it EXPOSEs, and owns its data volume', () => {
    const env: Record<string, string> = {}
    for (const e of of(runtime, 'ENV')) {
      for (const m of argsOf(e).matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)) env[m[1] as string] = m[2] as string
    }
    const settingNames = new Set(Object.values(SETTINGS).map((s) => s.name))
    expect(Object.keys(env).filter((k) => !settingNames.has(k))).toEqual([])
    expect(env).toMatchObject({ QIAO_HOST: '0.0.0.0', QIAO_DATA_DIR: '/var/lib/qiao' })
    expect(of(runtime, 'EXPOSE').map(argsOf)).toEqual([env.QIAO_PORT])
    expect(of(runtime, 'VOLUME').map((v) => jsonArray(argsOf(v)))).toEqual([['/var/lib/qiao']])
    const user = lastArgs(runtime, 'USER') as string
    expect(of(runtime, 'RUN').some((r) => argsOf(r).includes(`chown ${user}:${user} /var/lib/qiao`))).toBe(true)
  })

  it('has OCI labels', () => {
    const labels = of(runtime, 'LABEL').map(argsOf).join(' ')
    for (const key of ['title', 'description', 'version', 'licenses']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`)
    }
  })
})

// ---------------------------------------------------------------------------------------------------------------
// deploy/

describe('deploy/nginx.conf', () => {
  const conf = read('deploy/nginx.conf').replace(/#.*$/gm, '')

  it('balances over both gateway replicas with upstream keepalive', () => {
    const upstream = /upstream\s+(\S+)\s*\{([^}]*)\}/.exec(conf)
    expect(upstream).not.toBeNull()
    const [, name, body] = upstream as RegExpExecArray
    for (const [gateway, service] of gateways) {
      const port = environmentOf(service).QIAO_PORT
      expect(body).toMatch(new RegExp(`server\\s+${gateway}:${port}\\b`))
    }
    expect(body).toMatch(/keepalive\s+\d+;/)
    expect(conf).toContain(`proxy_pass http://${name};`)
    expect(conf).toMatch(/proxy_http_version\s+1\.1;/)
    expect(conf).toMatch(/proxy_set_header\s+Connection\s+"";/)
  })

  it('routes only to the gateways’ public port, never to their metrics listener', () => {
    const targets = [
      ...[...conf.matchAll(/upstream\s+\S+\s*\{([^}]*)\}/g)].flatMap((m) =>
        [...(m[1] as string).matchAll(/server\s+([^\s;]+)/g)].map((s) => s[1] as string),
      ),
      ...[...conf.matchAll(/(?:proxy_pass|fastcgi_pass|grpc_pass|uwsgi_pass)\s+([^\s;]+)/g)].map((m) => m[1] as string),
    ]
    expect(targets.length).toBeGreaterThan(0)
    for (const [name, gateway] of gateways) {
      const { QIAO_PORT: port, QIAO_METRICS_PORT: metricsPort } = environmentOf(gateway)
      for (const target of targets) {
        const host = target.replace(/^[a-z]+:\/\//, '').split('/')[0] as string
        if (host.split(':')[0] === name) expect(host, target).toBe(`${name}:${port}`)
      }
      expect(conf, `nginx.conf names the metrics port ${metricsPort}`).not.toMatch(new RegExp(`:${metricsPort}\\b`))
    }
  })

  it('passes X-Request-Id and the W3C traceparent to the gateways', () => {
    expect(conf).toMatch(/proxy_set_header\s+X-Request-Id\s+\$\S+;/)
    expect(conf).toMatch(/proxy_set_header\s+traceparent\s+\$http_traceparent;/)
  })

  it('listens on the port compose publishes, and the compose file mounts it', () => {
    const listen = /listen\s+(\d+);/.exec(conf)?.[1]
    expect(services.nginx?.ports?.map((p) => String(p).split(':').at(-1))).toEqual([listen])
    expect(services.nginx?.volumes).toContain('./deploy/nginx.conf:/etc/nginx/nginx.conf:ro')
  })
})

describe('deploy/otel-collector.yaml', () => {
  const config = parse(read('deploy/otel-collector.yaml')) as {
    receivers: { otlp: { protocols: { http: { endpoint: string }; grpc: { endpoint: string } } } }
    exporters: Record<string, { endpoint: string }>
    service: { pipelines: { traces: { receivers: string[]; exporters: string[] } } }
  }

  it('receives OTLP where the gateways send it and exports traces to Jaeger', () => {
    const { pipelines } = config.service
    expect(pipelines.traces.receivers).toContain('otlp')
    for (const [, gateway] of gateways) {
      const endpoint = new URL(environmentOf(gateway).OTEL_EXPORTER_OTLP_ENDPOINT as string)
      expect(environmentOf(gateway).OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/protobuf')
      expect(config.receivers.otlp.protocols.http.endpoint).toBe(`0.0.0.0:${endpoint.port}`)
      expect(services[endpoint.hostname]?.volumes).toContain(
        './deploy/otel-collector.yaml:/etc/otelcol-contrib/config.yaml:ro',
      )
    }
    for (const exporter of pipelines.traces.exporters) {
      const host = (config.exporters[exporter]?.endpoint ?? '').split(':')[0] as string
      expect(services[host]?.image).toMatch(/^jaegertracing\//)
    }
  })
})

describe('deploy/healthcheck.mjs', () => {
  let server: Server
  let port: number
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? 200 : 503
      res.end()
    })
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
    port = (server.address() as AddressInfo).port
  })
  afterAll(() => new Promise<void>((done) => server.close(() => done())))

  const run = (args: string[], env: Record<string, string> = {}) =>
    new Promise<number | null>((done) => {
      const child = spawn(process.execPath, [join(ROOT, 'deploy/healthcheck.mjs'), ...args], {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: 'ignore',
      })
      child.on('exit', (code) => done(code))
    })

  it('exits 0 on a 2xx, 1 on another status or no answer; defaults to QIAO_PORT /healthz', async () => {
    expect(await run([`http://127.0.0.1:${port}/healthz`])).toBe(0)
    expect(await run([`http://127.0.0.1:${port}/other`])).toBe(1)
    expect(await run([], { QIAO_PORT: String(port) })).toBe(0)
    const closed = createServer()
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done))
    const closedPort = (closed.address() as AddressInfo).port
    await new Promise<void>((done) => closed.close(() => done()))
    expect(await run([`http://127.0.0.1:${closedPort}/healthz`])).toBe(1)
  })
})

describe('deploy/init-keys.mjs', () => {
  it('imports from dist/ only modules and functions that the sources export', async () => {
    const script = read('deploy/init-keys.mjs')
    const imports = [...script.matchAll(/import \{([^}]+)\} from '\.\.\/dist\/(.+)\.js'/g)]
    expect(imports.length).toBeGreaterThan(0)
    for (const [, names, module] of imports) {
      const source = `${module}.ts`
      expect(existsSync(join(ROOT, source as string)), source).toBe(true)
      const exported = (await import(join(ROOT, source as string))) as Record<string, unknown>
      for (const name of (names as string).split(',').map((n) => n.trim())) {
        expect(typeof exported[name], `${source} exports ${name}`).toBe('function')
      }
    }
    expect(script).toContain("'../dist/gateway/cli.js'")
  })

  it('writes the key set and audit key where the gateways read them', () => {
    const initKeys = services['init-keys'] as ComposeService
    const keysVolume = (initKeys.volumes ?? []).find((v) => typeof v === 'string' && v.endsWith(':/var/lib/qiao'))
    expect(keysVolume).toBeDefined()
    for (const [, gateway] of gateways) {
      const mount = (gateway.volumes ?? []).find(
        (v): v is { type: string; source: string; target: string; read_only: boolean; volume: { subpath: string } } =>
          typeof v !== 'string' && v.source === String(keysVolume).split(':')[0],
      )
      expect(mount).toMatchObject({ read_only: true, volume: { subpath: 'gateway' } })
      const env = environmentOf(gateway)
      expect(env.QIAO_JWKS_FILE).toBe(`${mount?.target}/jwks.json`)
      expect(env.QIAO_AUDIT_KEY_FILE).toBe(`${mount?.target}/audit-hmac.key`)
    }
    const script = read('deploy/init-keys.mjs')
    expect(script).toContain("join(dataDir, 'gateway')")
    expect(script).toContain("join(shared, 'jwks.json')")
    expect(script).toContain("join(shared, 'audit-hmac.key')")
  })
})
