/** @jsxImportSource hono/jsx */
import type { ConsoleApp, ConsoleKit } from './kit.js'

/** The operator's page: connectors and breakers, quotas, the audit log's state, catalog reload. */
export function registerOperatorPages(_app: ConsoleApp, _kit: ConsoleKit): void {}
