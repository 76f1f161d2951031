/** @jsxImportSource hono/jsx */
import type { ConsoleApp, ConsoleKit } from './kit.js'

/** The auditor's dashboards: calls per day by department and resource, denial rate, after-hours, many subjects. */
export function registerDashboardPages(_app: ConsoleApp, _kit: ConsoleKit): void {}
