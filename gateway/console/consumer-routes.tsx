/** @jsxImportSource hono/jsx */
import type { ConsoleApp, ConsoleKit } from './kit.js'

/** The requesting department's grants (expiring soon marked), its own usage, and answers to 一次性告知 notices. */
export function registerConsumerPages(_app: ConsoleApp, _kit: ConsoleKit): void {}
