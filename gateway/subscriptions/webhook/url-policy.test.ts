import { describe, expect, it } from 'vitest'
import { WebhookUrlError } from './errors.js'
import {
  assertWebhookUrl,
  checkWebhookUrl,
  guardedLookup,
  isRefusedAddress,
  type ResolveHost,
  vetWebhookUrl,
} from './url-policy.js'

const codes = (url: string, policy = {}) => checkWebhookUrl(url, policy).map((p) => p.code)

describe('webhook URL policy', () => {
  it('accepts a public https URL with a path, port and query', () => {
    expect(codes('https://hooks.example.gov.cn:8443/qiao/events?key=abc')).toEqual([])
    expect(codes('https://203.119.25.1/hook')).toEqual([])
    expect(codes('https://[2400:3200::1]/hook')).toEqual([])
  })

  it('refuses http unless allowed, and any other scheme always', () => {
    expect(codes('http://hooks.example.gov.cn/')).toEqual(['webhook-url-scheme'])
    expect(codes('http://hooks.example.gov.cn/', { allowHttp: true })).toEqual([])
    expect(codes('ftp://hooks.example.gov.cn/', { allowHttp: true })).toEqual(['webhook-url-scheme'])
    expect(codes('file:///etc/passwd', { allowHttp: true })).toEqual(['webhook-url-scheme', 'webhook-url-invalid'])
  })

  it('refuses userinfo, fragments, unparsable and over-long URLs, each as its own problem', () => {
    expect(codes('https://user:pw@hooks.example.gov.cn/#x')).toEqual(['webhook-url-userinfo', 'webhook-url-fragment'])
    expect(codes('https://hooks.example.gov.cn/#')).toEqual(['webhook-url-fragment'])
    expect(codes('hooks.example.gov.cn/hook')).toEqual(['webhook-url-invalid'])
    expect(codes(`https://hooks.example.gov.cn/${'a'.repeat(2100)}`)).toEqual(['webhook-url-too-long'])
    // Every problem at once.
    expect(codes('http://u@127.0.0.1/#f', { allowedHosts: ['hooks.example.gov.cn'] })).toEqual([
      'webhook-url-scheme',
      'webhook-url-userinfo',
      'webhook-url-fragment',
      'webhook-url-host-not-allowed',
      'webhook-url-address-refused',
    ])
  })

  it('gives each problem a zh-CN text that never quotes the URL', () => {
    const [problem] = checkWebhookUrl('https://u:secret-pw@hooks.example.gov.cn/')
    expect(problem?.zh).toContain('用户名或密码')
    expect(JSON.stringify(problem)).not.toContain('secret-pw')
  })

  it('keeps to the operator allow-list: exact hosts and *.suffix subdomains (not the apex)', () => {
    const policy = { allowedHosts: ['hooks.fgw.gov.cn', '*.zjj.gov.cn'] }
    expect(codes('https://hooks.fgw.gov.cn/', policy)).toEqual([])
    expect(codes('https://HOOKS.FGW.GOV.CN./', policy)).toEqual([])
    expect(codes('https://a.b.zjj.gov.cn/', policy)).toEqual([])
    expect(codes('https://zjj.gov.cn/', policy)).toEqual(['webhook-url-host-not-allowed'])
    expect(codes('https://evilzjj.gov.cn/', policy)).toEqual(['webhook-url-host-not-allowed'])
    expect(codes('https://hooks.fgw.gov.cn.evil.cn/', policy)).toEqual(['webhook-url-host-not-allowed'])
  })

  it('refuses loopback, private, link-local and reserved literals, however written, unless allowed', () => {
    for (const host of [
      '127.0.0.1',
      '2130706433', // 127.0.0.1 as one number: the URL parser normalises it
      '0x7f.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254', // cloud metadata
      '100.64.0.1',
      '0.0.0.0',
      '[::1]',
      '[::]',
      '[::ffff:127.0.0.1]',
      '[fd00::1]',
      '[fe80::1]',
      '[64:ff9b::a9fe:a9fe]', // NAT64 of 169.254.169.254
      'localhost',
      'admin.localhost',
    ]) {
      expect(codes(`https://${host}/`), host).toEqual(['webhook-url-address-refused'])
      expect(codes(`https://${host}/`, { allowPrivateAddresses: true }), host).toEqual([])
    }
    expect(isRefusedAddress('2002:7f00:1::1')).toBe(true) // 6to4 of 127.0.0.1
    expect(isRefusedAddress('2002:cb77:1901::1')).toBe(false)
    expect(isRefusedAddress('8.8.8.8')).toBe(false)
    expect(isRefusedAddress('not an address')).toBe(true)
  })

  it('throws every problem at once in a WebhookUrlError', () => {
    expect(() => assertWebhookUrl('http://u@hooks.example.gov.cn/')).toThrowError(WebhookUrlError)
    try {
      assertWebhookUrl('http://u@hooks.example.gov.cn/')
    } catch (err) {
      expect((err as WebhookUrlError).problems.map((p) => p.code)).toEqual([
        'webhook-url-scheme',
        'webhook-url-userinfo',
      ])
    }
    expect(assertWebhookUrl('https://hooks.example.gov.cn/a').href).toBe('https://hooks.example.gov.cn/a')
  })

  it('at creation resolves the host: refused when it points inside, unresolvable when it does not resolve', async () => {
    const resolve: ResolveHost = async (host) => {
      if (host === 'inside.example.cn') return [{ address: '10.0.0.5', family: 4 }]
      if (host === 'mixed.example.cn')
        return [
          { address: '203.119.25.1', family: 4 },
          { address: '::1', family: 6 },
        ]
      if (host === 'public.example.cn') return [{ address: '203.119.25.1', family: 4 }]
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' })
    }
    const vet = async (url: string, policy = {}) => (await vetWebhookUrl(url, policy, resolve)).map((p) => p.code)
    expect(await vet('https://public.example.cn/')).toEqual([])
    expect(await vet('https://inside.example.cn/')).toEqual(['webhook-url-address-refused'])
    expect(await vet('https://mixed.example.cn/')).toEqual(['webhook-url-address-refused'])
    expect(await vet('https://inside.example.cn/', { allowPrivateAddresses: true })).toEqual([])
    expect(await vet('https://missing.example.cn/')).toEqual(['webhook-url-unresolvable'])
    expect(await vet('http://public.example.cn/')).toEqual(['webhook-url-scheme'])
  })

  it('guards every connection: a refused address fails the lookup, a public one is handed on', async () => {
    const resolve: ResolveHost = async (host) =>
      host === 'inside.example.cn'
        ? [{ address: '127.0.0.1', family: 4 }]
        : [
            { address: '203.119.25.1', family: 4 },
            { address: '2400:3200::1', family: 6 },
          ]
    const lookup = guardedLookup({}, resolve)
    const run = (host: string, options: object) =>
      new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolveRun) =>
        lookup(host, options, (err, address, family) => resolveRun({ err, address, family })),
      )
    expect((await run('inside.example.cn', {})).err?.code).toBe('QIAO_WEBHOOK_ADDRESS_REFUSED')
    expect(await run('public.example.cn', {})).toMatchObject({ err: null, address: '203.119.25.1', family: 4 })
    expect(await run('public.example.cn', { family: 6 })).toMatchObject({ address: '2400:3200::1', family: 6 })
    expect((await run('public.example.cn', { all: true })).address).toEqual([
      { address: '203.119.25.1', family: 4 },
      { address: '2400:3200::1', family: 6 },
    ])
    const allowed = guardedLookup({ allowPrivateAddresses: true }, resolve)
    const address = await new Promise((r) => allowed('inside.example.cn', {}, (_e, a) => r(a)))
    expect(address).toBe('127.0.0.1')
  })
})
