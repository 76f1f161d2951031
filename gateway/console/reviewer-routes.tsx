/** @jsxImportSource hono/jsx */
import type { ConsoleApp, ConsoleKit } from './kit.js'

/** The provider's reviewer (inbox, review, revoke, who uses my data) and the 数据局's conformity checks. */
export function registerReviewerPages(_app: ConsoleApp, _kit: ConsoleKit): void {}
