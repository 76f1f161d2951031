/**
 * What the webhook parts refuse, with stable codes: the subscription API maps a URL's problems to its answer (one
 * entry per problem), the operators' commands key on the code. `zh` is what a consumer's developer reads; neither
 * text ever quotes the URL (its query may carry a key) or the secret.
 */
export const webhookErrors = {
  'webhook-url-invalid': { zh: '回调地址不是合法的绝对 URL。', en: 'The webhook URL is not a valid absolute URL.' },
  'webhook-url-too-long': { zh: '回调地址超过 2048 个字符。', en: 'The webhook URL is longer than 2048 characters.' },
  'webhook-url-scheme': {
    zh: '回调地址必须使用 https。',
    en: 'The webhook URL must use https (http only where the operator allows it, for demos on loopback).',
  },
  'webhook-url-userinfo': {
    zh: '回调地址不得包含用户名或密码（请用签名密钥鉴别）。',
    en: 'The webhook URL must not carry a user name or password: receivers authenticate us by the signature.',
  },
  'webhook-url-fragment': { zh: '回调地址不得包含片段（#…）。', en: 'The webhook URL must not have a fragment.' },
  'webhook-url-host-not-allowed': {
    zh: '回调地址的主机不在运维允许的主机清单内。',
    en: "The webhook URL's host is not on the operator's allow-list.",
  },
  'webhook-url-address-refused': {
    zh: '回调地址指向本机、链路本地、内网或保留地址，不予投递。',
    en: 'The webhook URL names or resolves to a loopback, link-local, private or reserved address.',
  },
  'webhook-url-unresolvable': {
    zh: '回调地址的主机名无法解析。',
    en: "The webhook URL's host name does not resolve.",
  },
  'webhook-secret-invalid': {
    zh: '签名密钥格式错误：应为 whsec_ 加 Base64，解码后 24–64 字节。',
    en: 'A webhook secret is `whsec_` and base64 of 24–64 bytes.',
  },
} as const

export type WebhookErrorCode = keyof typeof webhookErrors

export class WebhookError extends Error {
  readonly code: WebhookErrorCode

  constructor(code: WebhookErrorCode) {
    super(webhookErrors[code].en)
    this.name = 'WebhookError'
    this.code = code
  }
}

/** One problem of a webhook URL. */
export interface WebhookUrlProblem {
  readonly code: Exclude<WebhookErrorCode, 'webhook-secret-invalid'>
  readonly zh: string
  readonly en: string
}

/** A refused webhook URL, with every problem it has at once (a consumer fixes them in one go). */
export class WebhookUrlError extends Error {
  constructor(readonly problems: readonly WebhookUrlProblem[]) {
    super(`webhook URL refused: ${problems.map((p) => p.code).join(', ')}`)
    this.name = 'WebhookUrlError'
  }
}

export const urlProblem = (code: WebhookUrlProblem['code']): WebhookUrlProblem => ({ code, ...webhookErrors[code] })
