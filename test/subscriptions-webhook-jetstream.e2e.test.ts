import { describeWebhookAcceptance } from './support/webhook-acceptance.js'

/** Issue 18's webhook acceptance with the broker: NATS JetStream on this machine (QIAO_SUBSCRIPTIONS_NATS_URL). */
describeWebhookAcceptance({ name: 'jetstream', env: { QIAO_SUBSCRIPTIONS_NATS_URL: 'nats://127.0.0.1:4222' } })
