import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api'
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base'

/**
 * OpenTelemetry tracing, configured by the standard OTEL_* variables (OTEL_TRACES_EXPORTER,
 * OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER …). When no exporter is configured the SDK
 * is never loaded and the gateway skips span creation altogether, so tracing off costs nothing.
 *
 * Spans: one server span per request; one span per connector operation; the HTTP client spans of undici
 * (instrumentation-undici, which also injects W3C `traceparent` into the legacy system's request).
 * Attributes name resources, matters, departments and outcomes — never parameters or personal data.
 */
export interface Tracing {
  readonly enabled: boolean
  shutdown(): Promise<void>
}

const tracer = trace.getTracer('qiao')

let enabled = false

export function tracingEnabled(): boolean {
  return enabled
}

/** Whether the environment asks for traces (an exporter or an OTLP endpoint, and the SDK not disabled). */
export function tracingRequested(env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false
  const exporter = env.OTEL_TRACES_EXPORTER
  if (exporter !== undefined && exporter !== '') return exporter !== 'none'
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
}

/**
 * Starts the SDK when requested (or when span processors are given, as tests do). Loaded lazily, so a gateway
 * without tracing never imports it.
 */
export async function startTracing(
  env: Readonly<Record<string, string | undefined>>,
  spanProcessors?: SpanProcessor[],
): Promise<Tracing> {
  if (!spanProcessors && !tracingRequested(env)) return { enabled: false, shutdown: async () => {} }
  const [{ NodeSDK }, { UndiciInstrumentation }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/instrumentation-undici'),
  ])
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? 'qiao',
    ...(spanProcessors ? { spanProcessors } : {}),
    instrumentations: [new UndiciInstrumentation()],
  })
  sdk.start()
  enabled = true
  return {
    enabled: true,
    async shutdown() {
      enabled = false
      await sdk.shutdown()
    },
  }
}

/** Runs `fn` in a server span continuing the caller's trace (W3C traceparent), or just runs it when off. */
export async function withServerSpan<T>(
  name: string,
  headers: (name: string) => string | undefined,
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!enabled) return fn(undefined)
  const parent = propagation.extract(
    ROOT_CONTEXT,
    {},
    {
      get: (_carrier, key) => headers(key),
      keys: () => [],
    },
  )
  return tracer.startActiveSpan(name, { kind: SpanKind.SERVER }, parent, async (span) => {
    try {
      return await fn(span)
    } finally {
      span.end()
    }
  })
}

/** Runs `fn` in an internal span (e.g. one connector operation), or just runs it when off. */
export async function withSpan<T>(
  name: string,
  attributes: Record<string, string | number>,
  fn: () => Promise<T>,
): Promise<T> {
  if (!enabled) return fn()
  return tracer.startActiveSpan(name, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
    try {
      return await fn()
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' })
      throw err
    } finally {
      span.end()
    }
  })
}

/** The current trace id, for problem bodies, audit records and log lines; undefined when tracing is off. */
export function currentTraceId(activeContext: Context = context.active()): string | undefined {
  if (!enabled) return undefined
  const id = trace.getSpanContext(activeContext)?.traceId
  return id && id !== '00000000000000000000000000000000' ? id : undefined
}

export { type Span, SpanStatusCode }
