/** @jsxImportSource hono/jsx */
import type { ConsoleApp, ConsoleKit } from './kit.js'

/** The auditor's pages: access search, a record with its receipt checked in the browser, exports, dashboards. */
export function registerAuditorPages(_app: ConsoleApp, _kit: ConsoleKit): void {}
