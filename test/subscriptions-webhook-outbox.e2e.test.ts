import { describeWebhookAcceptance } from './support/webhook-acceptance.js'

/** Issue 18's webhook acceptance with serve's embedded engine: the outbox in the state store (SQLite). */
describeWebhookAcceptance({ name: 'outbox', env: {} })
