import { describe, expect, it } from 'vitest'
import { vetWebhookUrl } from './webhook/url-policy.js'
import { webhookUrlPolicyOf } from './wiring.js'

// An intranet name and a public one, resolved without the network.
const resolve = async (hostname: string) =>
  hostname === 'hooks.fgw.nanjing.gov.cn'
    ? [{ address: '10.12.0.7', family: 4 }]
    : hostname === 'public.example.cn'
      ? [{ address: '203.119.25.1', family: 4 }]
      : [{ address: '127.0.0.1', family: 4 }]
const vet = async (url: string, policy: ReturnType<typeof webhookUrlPolicyOf>) =>
  (await vetWebhookUrl(url, policy, resolve)).map((p) => p.code)

describe('the webhook URL policy serve applies (QIAO_SUBSCRIPTIONS_WEBHOOK_HOSTS)', () => {
  it('without the host list: https only, and no intranet or loopback address', async () => {
    const policy = webhookUrlPolicyOf({ demoMode: false, subscriptionsWebhookHosts: undefined })
    expect(await vet('https://hooks.fgw.nanjing.gov.cn/qiao', policy)).toEqual(['webhook-url-address-refused'])
    expect(await vet('https://localhost.example/qiao', policy)).toEqual(['webhook-url-address-refused'])
    expect(await vet('http://hooks.fgw.nanjing.gov.cn/qiao', policy)).toContain('webhook-url-scheme')
  })

  it('with the host list: only those hosts, which may be intranet addresses', async () => {
    const policy = webhookUrlPolicyOf({ demoMode: false, subscriptionsWebhookHosts: ['hooks.fgw.nanjing.gov.cn'] })
    expect(await vet('https://hooks.fgw.nanjing.gov.cn/qiao', policy)).toEqual([])
    expect(await vet('https://public.example.cn/qiao', policy)).not.toEqual([])
    expect(await vet('http://hooks.fgw.nanjing.gov.cn/qiao', policy)).toContain('webhook-url-scheme')
  })

  it('the demo takes http receivers on loopback', async () => {
    const policy = webhookUrlPolicyOf({ demoMode: true, subscriptionsWebhookHosts: undefined })
    expect(await vet('http://127.0.0.1:9999/hook', policy)).toEqual([])
  })
})
