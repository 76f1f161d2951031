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
