import { idempotencyState } from '../idempotency/state-store.js'
import { sharingState } from '../sharing/tables.js'
import { feedState } from '../subscriptions/feed/tables.js'
import { subscriptionsState } from '../subscriptions/outbox/tables.js'
import { subscriptionRegistryState } from '../subscriptions/registry/tables.js'
import type { StateModule } from './store.js'

/** Every module that keeps state in the store; each brings its own migrations. */
export const STATE_MODULES: readonly StateModule[] = [
  idempotencyState,
  sharingState,
  subscriptionsState,
  feedState,
  subscriptionRegistryState,
]
