import { type DestinationStream, type Logger, pino } from 'pino'

export type { Logger }

/**
 * Operational log (pino, JSON lines). It is NOT the audit log: it may lose lines on a crash. Nothing that
 * identifies a person or carries a token goes in; the redaction below is a second line of defence for
 * objects that should never have been logged.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'qiao' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'headers.authorization',
          '*.headers.authorization',
          'token',
          '*.token',
          'params',
          '*.params',
          'body',
          '*.body',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  )
}

/**
 * The logger of the per-exchange line (telemetry/exchange-observer.ts): the same logger and destination without
 * the redaction, which costs more than the rest of writing the line (about 15 µs of 23 per line measured, pino
 * 10) and could never change it: the redacted paths name `authorization`, `token`, `params` and `body` keys at the
 * top level or one level down, and the exchange line is one flat object of fixed keys, none of those, whose values
 * are strings, numbers and flags the gateway made or checked (ids, catalog and problem codes, counts, timings).
 * Anything else keeps going through the redacting logger.
 */
export function exchangeLineLogger(logger: Logger): Logger {
  return logger.child({}, { redact: [] })
}

type Level = 'debug' | 'info' | 'warn' | 'error'

/**
 * A per-call logger with bindings (request id, connector) that costs nothing until something is logged: most calls
 * log nothing at the usual levels, and a pino child per call would be built for nothing.
 */
export function lazyChild(
  logger: Logger,
  bindings: Record<string, unknown>,
): Record<Level, (obj: object, msg?: string) => void> {
  let child: Logger | undefined
  const at =
    (level: Level) =>
    (obj: object, msg?: string): void => {
      if (!logger.isLevelEnabled(level)) return
      child ??= logger.child(bindings)
      child[level](obj, msg)
    }
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}
