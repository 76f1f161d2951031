import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { RECEIPT_VERIFY_JS } from './receipt-verify-js.js'

/**
 * The console's assets, served from memory (no CDN, no build step): a small stylesheet; a script that does what
 * the CSP forbids inline (focus to an error summary so a screen reader announces it; charts drawn from their
 * `data-chart` attribute); and ECharts itself, read once from its npm package and loaded only by pages with charts.
 */

const CSS = `:root{--ink:#1f2933;--muted:#52606d;--line:#cbd2d9;--accent:#0b5cad;--bad:#b42318;--bg:#f5f7fa}
*{box-sizing:border-box}
body{margin:0;font:16px/1.6 system-ui,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;color:var(--ink);background:var(--bg)}
a{color:var(--accent)}
a:focus,button:focus,input:focus,select:focus,textarea:focus,[tabindex]:focus{outline:3px solid #f5a623;outline-offset:2px}
.skip{position:absolute;left:-9999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
header{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;padding:.75rem 1.5rem;background:#fff;border-bottom:1px solid var(--line)}
header nav{display:flex;gap:1rem;flex:1}
header form{margin:0}
main{max-width:64rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.5rem;margin:0 0 1rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid var(--line);padding:.4rem .6rem;text-align:left;vertical-align:top}
.card{background:#fff;border:1px solid var(--line);border-radius:4px;padding:1rem;margin:0 0 1rem}
.muted{color:var(--muted)}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
fieldset{border:1px solid var(--line);margin:1rem 0;padding:.5rem 1rem}
fieldset label,.inline{display:inline;font-weight:400;margin:0 1rem 0 .25rem}
input[type=text],input[type=search],input[type=date],input[type=tel],input[type=email],select,textarea{width:100%;padding:.4rem;border:1px solid var(--muted);border-radius:3px;font:inherit}
textarea{min-height:4rem}
button{font:inherit;padding:.4rem 1rem;border:1px solid var(--accent);background:var(--accent);color:#fff;border-radius:3px;cursor:pointer}
button.link{background:none;color:var(--accent);border:none;padding:0;text-decoration:underline}
[aria-invalid=true]{border-color:var(--bad);border-width:2px}
.error{color:var(--bad);margin:.25rem 0}
.summary{border:3px solid var(--bad);background:#fff;padding:1rem;margin:0 0 1rem}
.search{display:flex;gap:.5rem;align-items:flex-end}.search div{flex:1}
.chart{width:100%;height:320px;background:#fff;border:1px solid var(--line)}
figure{margin:0 0 1.5rem}figcaption{font-weight:600;margin:.5rem 0}
.warn{color:#8a5300;font-weight:600}.ok{color:#1a7f37;font-weight:600}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
tr.expiring{background:#fff8e1}.tag{display:inline-block;border:1px solid currentColor;border-radius:3px;padding:0 .4rem}
table.grants th .muted,table.grants td .muted{font-weight:400;font-size:.875rem}.validity{white-space:nowrap}
.renew label{font-weight:400;margin:0 0 .25rem}.renew input{width:8.5rem}.renew span.muted{display:block;font-size:.875rem}
a.button{display:inline-block;padding:.4rem 1rem;background:var(--accent);color:#fff;border-radius:3px;text-decoration:none}
.actions{display:flex;gap:1rem;align-items:center}
.stats{display:flex;flex-wrap:wrap;gap:1rem;margin:0 0 1rem}.stats div{background:#fff;border:1px solid var(--line);padding:.5rem 1rem;min-width:7rem}
.stats dt{color:var(--muted)}.stats dd{margin:0;font-size:1.5rem;font-weight:600}
td.number,th.number{text-align:right}caption{text-align:left;font-weight:600;margin:.5rem 0}
.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:0 1rem}.filters .wide{grid-column:span 2}
.filters label{margin:.4rem 0 .15rem}.hint{margin:0;font-size:.85rem}.scroll{overflow-x:auto}
button.secondary{background:#fff;color:var(--accent)}.card.audit h2{margin:0 0 .5rem;font-size:1.15rem}
.record-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(24rem,1fr));gap:0 1rem}
.results-head{display:flex;gap:1rem;align-items:baseline}.results-head h2{margin:.5rem 0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}dl.facts dt{font-weight:600}dl.facts dd{margin:0}
code.hash{word-break:break-all;font-size:.85rem}.steps li{margin:.5rem 0}#receipt-status{font-size:1.25rem}
.review-facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}.review-facts dt{font-weight:600}.review-facts dd{margin:0}
.review-notice{display:grid;grid-template-columns:1fr 2fr;gap:0 1rem;margin:.5rem 0}.review-notice label{display:block;font-weight:600;margin:.25rem 0}
.review-fields label.inline{margin-right:.5rem}.review-key{font-weight:400;font-size:.85rem}.review-revoke label{margin-top:0;font-weight:400}.review-revoke button{margin-top:.25rem}.review-grants{font-size:.9rem}
.ops-facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}.ops-facts dt{color:var(--muted)}.ops-facts dd{margin:0}
.ops-attention{border-left:6px solid var(--bad)}.ops-done{border-left:6px solid #1a7f37}tr.ops-alert{background:#fff4f2}meter{width:7rem;vertical-align:middle}
.ops-card>h2{margin:0 0 .5rem;font-size:1.2rem}
`

const JS = `'use strict'
document.addEventListener('DOMContentLoaded', function () {
  var target = document.querySelector('[data-focus]')
  if (target) target.focus()
  var charts = document.querySelectorAll('[data-chart]')
  if (charts.length === 0) return
  var loader = document.createElement('script')
  loader.src = document.documentElement.getAttribute('data-echarts')
  loader.onload = function () {
    for (var i = 0; i < charts.length; i++) drawChart(charts[i])
  }
  document.head.appendChild(loader)
})
function drawChart(node) {
  var spec = JSON.parse(node.getAttribute('data-chart'))
  var stacked = spec.kind === 'stacked-bar'
  var chart = window.echarts.init(node, null, { renderer: 'canvas', locale: spec.lang === 'en' ? 'EN' : 'ZH' })
  chart.setOption({
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { top: 0, type: 'scroll' },
    grid: { left: 48, right: 24, top: 40, bottom: 40, containLabel: true },
    xAxis: { type: 'category', data: spec.categories },
    yAxis: { type: 'value', name: spec.yName || '', max: spec.percent ? 100 : null, minInterval: spec.percent ? 0 : 1 },
    series: spec.series.map(function (s) {
      return { name: s.name, type: spec.kind === 'line' ? 'line' : 'bar', stack: stacked ? 'total' : undefined, data: s.data }
    })
  })
  node.setAttribute('data-chart-drawn', 'true')
  window.addEventListener('resize', function () { chart.resize() })
}
`

const ECHARTS = readFileSync(createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js'), 'utf8')

export interface Asset {
  readonly body: string
  readonly type: string
  /** Versioned URL: a changed file is a new URL, so pages can ask for it to be cached. */
  readonly path: string
}

function asset(name: string, body: string, type: string): Asset {
  const v = createHash('sha256').update(body).digest('base64url').slice(0, 12)
  return { body, type, path: `/console/assets/${name}?v=${v}` }
}

export const ASSETS: Readonly<Record<string, Asset>> = {
  'console.css': asset('console.css', CSS, 'text/css; charset=utf-8'),
  'console.js': asset('console.js', JS, 'text/javascript; charset=utf-8'),
  'echarts.js': asset('echarts.js', ECHARTS, 'text/javascript; charset=utf-8'),
  'receipt-verify.js': asset('receipt-verify.js', RECEIPT_VERIFY_JS, 'text/javascript; charset=utf-8'),
}
