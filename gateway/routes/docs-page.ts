/**
 * The interactive reference at GET /docs: the HTML page and its init script. Both are served from memory by
 * routes/docs.ts under a Content-Security-Policy that allows scripts from this origin only, so nothing here is
 * inline script and nothing names another host: the page must work on a network with no way out.
 *
 * The texts are written once, here, in both languages: the page is rendered in Chinese and the script swaps them
 * when the reader switches to English (Swagger UI's own buttons have no Chinese locale and stay English).
 */

/** Where the page finds the OpenAPI document; `?lang=zh|en` picks the language of its texts. */
export const OPENAPI_PATH = '/v1/openapi.json'

export type DocsLang = 'zh' | 'en'

interface DocsTexts {
  readonly htmlLang: string
  readonly title: string
  readonly intro: string
  readonly language: string
  readonly token: string
  readonly tokenPlaceholder: string
  readonly apply: string
  readonly clear: string
  readonly tokenHint: string
  readonly uiNote: string
  readonly loading: string
  /** `{n}`: the number of operations in the document. */
  readonly loaded: string
  readonly loadedForToken: string
  /** `{reason}`: the problem's status and title, or the network error. */
  readonly failed: string
  readonly noBundle: string
}

export const DOCS_TEXTS: Readonly<Record<DocsLang, DocsTexts>> = {
  zh: {
    htmlLang: 'zh-CN',
    title: '桥 Qiao · 接口参考',
    intro:
      '政务部门之间的数据共享交换接口。填入本部门的访问令牌后，文档按令牌所属部门列出可用的接口，并可在本页直接试调用本网关。',
    language: '语言',
    token: '访问令牌',
    tokenPlaceholder: 'Bearer 令牌（JWT）',
    apply: '使用令牌',
    clear: '清除令牌',
    tokenHint: '令牌只保存在本页内存中，不写入浏览器存储；刷新或关闭页面即失效。',
    uiNote: 'Swagger UI 自带的按钮和标签（Try it out、Execute、Responses 等）只有英文。',
    loading: '正在加载接口文档…',
    loaded: '已加载接口文档：{n} 个操作。',
    loadedForToken: '已按令牌所属部门加载接口文档：{n} 个操作。',
    failed: '接口文档加载失败：{reason}',
    noBundle: 'Swagger UI 未能加载。',
  },
  en: {
    htmlLang: 'en',
    title: 'Qiao (桥) · API reference',
    intro:
      "The data-sharing exchange between government departments. With your department's access token, the document " +
      'lists the operations your department may use, and you can call this gateway from this page.',
    language: 'Language',
    token: 'Access token',
    tokenPlaceholder: 'Bearer token (JWT)',
    apply: 'Use token',
    clear: 'Clear token',
    tokenHint:
      'The token is kept in this page’s memory only, never in browser storage; reloading or closing the page drops it.',
    uiNote: 'Swagger UI’s own buttons and labels (Try it out, Execute, Responses …) are in English only.',
    loading: 'Loading the API document…',
    loaded: 'API document loaded: {n} operations.',
    loadedForToken: "API document loaded for the token's department: {n} operations.",
    failed: 'The API document could not be loaded: {reason}',
    noBundle: 'Swagger UI did not load.',
  },
}

export interface DocsAssetUrls {
  readonly css: string
  readonly bundle: string
  readonly init: string
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)

const STYLE = `
  body { margin: 0; background: #fafafa; }
  .qiao-bar { font-family: system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei",
    "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; color: #1f2933; background: #fff;
    border-bottom: 1px solid #d9dee3; }
  .qiao-bar .inner { box-sizing: border-box; max-width: 1460px; margin: 0 auto; padding: 16px 20px 12px; }
  .qiao-bar .top { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 12px; }
  .qiao-bar h1 { margin: 0; font-size: 22px; font-weight: 600; }
  .qiao-bar p { margin: 6px 0 0; font-size: 14px; line-height: 1.5; }
  .qiao-bar .muted { color: #52606d; font-size: 13px; }
  .qiao-bar button { font: inherit; font-size: 14px; padding: 5px 12px; border: 1px solid #7b8794; border-radius: 4px;
    background: #fff; color: #1f2933; cursor: pointer; }
  .qiao-bar button[aria-pressed="true"] { background: #1f4e79; border-color: #1f4e79; color: #fff; }
  .qiao-bar button:focus-visible, .qiao-bar input:focus-visible { outline: 3px solid #f0b429; outline-offset: 2px; }
  .qiao-lang { display: flex; gap: 6px; align-items: center; font-size: 14px; }
  .qiao-token { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-top: 12px; font-size: 14px; }
  .qiao-token label { font-weight: 600; }
  .qiao-token input { flex: 1 1 320px; min-width: 0; font: 13px ui-monospace, monospace; padding: 6px 8px;
    border: 1px solid #7b8794; border-radius: 4px; }
  .qiao-status { min-height: 1.5em; }
  .qiao-status.error { color: #b42318; }
  /* One server (this origin, set by init.js) and one token field (ours): Swagger UI's server picker and Authorize
     dialog would only offer a second, conflicting way. */
  .swagger-ui .scheme-container { display: none; }
`

/** The page, in Chinese; `urls` carry a content-hash query so a new version is never read from a stale cache. */
export function docsPage(urls: DocsAssetUrls): string {
  const t = DOCS_TEXTS.zh
  const text = (key: keyof DocsTexts) => `data-text="${key}">${escapeHtml(t[key])}`
  return `<!doctype html>
<html lang="${t.htmlLang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(t.title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${escapeHtml(urls.css)}">
<style>${STYLE}</style>
</head>
<body>
<header class="qiao-bar">
<div class="inner">
<div class="top">
<h1 ${text('title')}</h1>
<div class="qiao-lang" role="group" aria-labelledby="qiao-lang-label">
<span id="qiao-lang-label" ${text('language')}</span>
<button type="button" data-lang="zh" lang="zh-CN" aria-pressed="true">中文</button>
<button type="button" data-lang="en" lang="en" aria-pressed="false">English</button>
</div>
</div>
<p ${text('intro')}</p>
<form class="qiao-token" id="qiao-token-form" autocomplete="off">
<label for="qiao-token" ${text('token')}</label>
<input id="qiao-token" name="token" type="password" autocomplete="off" spellcheck="false" aria-describedby="qiao-token-hint" placeholder="${escapeHtml(t.tokenPlaceholder)}" data-placeholder="tokenPlaceholder">
<button type="submit" ${text('apply')}</button>
<button type="button" id="qiao-token-clear" ${text('clear')}</button>
</form>
<p class="muted" id="qiao-token-hint" ${text('tokenHint')}</p>
<p class="muted" ${text('uiNote')}</p>
<p class="qiao-status" id="qiao-status" role="status" aria-live="polite"></p>
</div>
</header>
<main id="swagger-ui"></main>
<script src="${escapeHtml(urls.bundle)}"></script>
<script src="${escapeHtml(urls.init)}"></script>
</body>
</html>
`
}

/**
 * /docs/assets/init.js. Plain browser JavaScript (no build step): it fetches the document itself, so that it can
 * send the token, point `servers` at this origin (Try it out calls the gateway that served the page, whatever the
 * document says) and show a refusal in the page. The token lives in one variable of this closure only.
 */
export const DOCS_INIT_SCRIPT = `'use strict'
;(function () {
  var TEXTS = ${JSON.stringify(DOCS_TEXTS)}
  var OPENAPI = ${JSON.stringify(OPENAPI_PATH)}
  var METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']
  var lang = 'zh'
  var token = ''
  var ui = null
  var generation = 0

  var statusEl = document.getElementById('qiao-status')
  var input = document.getElementById('qiao-token')
  var form = document.getElementById('qiao-token-form')
  var langButtons = Array.prototype.slice.call(document.querySelectorAll('button[data-lang]'))

  function text(key, values) {
    var s = TEXTS[lang][key]
    Object.keys(values || {}).forEach(function (name) { s = s.split('{' + name + '}').join(String(values[name])) })
    return s
  }

  var lastStatus = null
  function setStatus(key, values, isError) {
    lastStatus = { key: key, values: values, isError: isError }
    statusEl.textContent = text(key, values)
    statusEl.classList.toggle('error', Boolean(isError))
  }

  function applyTexts() {
    document.documentElement.lang = TEXTS[lang].htmlLang
    document.title = TEXTS[lang].title
    Array.prototype.forEach.call(document.querySelectorAll('[data-text]'), function (el) {
      el.textContent = TEXTS[lang][el.getAttribute('data-text')]
    })
    Array.prototype.forEach.call(document.querySelectorAll('[data-placeholder]'), function (el) {
      el.setAttribute('placeholder', TEXTS[lang][el.getAttribute('data-placeholder')])
    })
    langButtons.forEach(function (b) { b.setAttribute('aria-pressed', String(b.getAttribute('data-lang') === lang)) })
    if (lastStatus) setStatus(lastStatus.key, lastStatus.values, lastStatus.isError)
  }

  function sameOrigin(url) {
    try { return new URL(url, location.href).origin === location.origin } catch (e) { return false }
  }

  /** Try it out: the token goes to this gateway only, never to another host a document might name. */
  function withToken(request) {
    if (token !== '' && sameOrigin(request.url)) request.headers.Authorization = 'Bearer ' + token
    return request
  }

  function countOperations(doc) {
    var n = 0
    Object.keys(doc.paths || {}).forEach(function (p) {
      METHODS.forEach(function (m) { if (doc.paths[p] && doc.paths[p][m]) n += 1 })
    })
    return n
  }

  function reasonOf(res, body) {
    var title = body && typeof body.title === 'string' ? body.title : res.statusText
    return String(res.status) + (title ? ' ' + title : '')
  }

  function load() {
    var mine = ++generation
    setStatus('loading')
    var headers = { Accept: 'application/json' }
    if (token !== '') headers.Authorization = 'Bearer ' + token
    return fetch(OPENAPI + '?lang=' + lang, { headers: headers, cache: 'no-store', credentials: 'omit' })
      .then(function (res) {
        return res.text().then(function (body) {
          var json = null
          try { json = JSON.parse(body) } catch (e) { json = null }
          if (!res.ok || json === null || typeof json !== 'object') throw new Error(reasonOf(res, json))
          return json
        })
      })
      .then(function (doc) {
        if (mine !== generation) return
        doc.servers = [{ url: location.origin }]
        if (typeof window.SwaggerUIBundle !== 'function') { setStatus('noBundle', {}, true); return }
        if (ui === null) {
          ui = window.SwaggerUIBundle({
            domNode: document.getElementById('swagger-ui'),
            spec: doc,
            layout: 'BaseLayout',
            presets: [window.SwaggerUIBundle.presets.apis],
            validatorUrl: null,
            deepLinking: false,
            persistAuthorization: false,
            displayRequestDuration: true,
            requestInterceptor: withToken,
          })
        } else {
          ui.specActions.updateSpec(JSON.stringify(doc))
        }
        setStatus(token === '' ? 'loaded' : 'loadedForToken', { n: countOperations(doc) })
      })
      .catch(function (err) {
        if (mine !== generation) return
        setStatus('failed', { reason: err && err.message ? err.message : String(err) }, true)
      })
  }

  langButtons.forEach(function (button) {
    button.addEventListener('click', function () {
      var next = button.getAttribute('data-lang')
      if (next === lang) return
      lang = next
      applyTexts()
      load()
    })
  })

  form.addEventListener('submit', function (event) {
    event.preventDefault()
    token = input.value.trim().replace(/^Bearer\\s+/i, '')
    load()
  })

  document.getElementById('qiao-token-clear').addEventListener('click', function () {
    token = ''
    input.value = ''
    load()
  })

  load()
})()
`
