/**
 * The receipt check that runs in the auditor's browser (served as `/console/assets/receipt-verify.js`; the CSP
 * allows no inline script, so the record page carries its inputs in `data-*` attributes of `#receipt`). With
 * WebCrypto only, and trusting no verdict of the server, it
 *   ① recomputes the leaf hash H(0x00 ‖ RFC 8785 canonical entry without `chain`), canonicalising as
 *     gateway/audit/canonical-json.ts does (keys sorted by UTF-16 code units, JSON.stringify for strings and
 *     numbers), and checks the record is this page's and sits where the signed checkpoint says;
 *   ② walks the RFC 9162 §2.1.3.2 inclusion path from it to the root, compared with the signed `rootHash`;
 *   ③ verifies the checkpoint JWS (EdDSA, typ qiao-audit-checkpoint+jws) with the audit public keys the page was
 *     rendered with (fetched apart from the proof).
 * Positions, sizes and the hash algorithm are read from the signed payload, not from the proof's unsigned copies.
 * An SM3 log cannot be hashed here (WebCrypto has no SM3), nor an SM2 checkpoint signature checked (WebCrypto has
 * no SM2): the page says so and points to `qiao audit verify`.
 */
export const RECEIPT_VERIFY_JS = `'use strict'
;(function () {
  var box = document.getElementById('receipt')
  if (!box) return
  var status = document.getElementById('receipt-status')
  var subtle = window.crypto && window.crypto.subtle
  function say(name) { return box.getAttribute('data-text-' + name) || name }
  function finish(state, message) {
    box.setAttribute('data-receipt-state', state)
    status.className = state === 'verified' ? 'ok' : state === 'failed' ? 'error' : 'warn'
    status.textContent = message
  }
  function mark(step, result, detail) {
    var item = box.querySelector('[data-step="' + step + '"]')
    item.setAttribute('data-result', result)
    item.querySelector('.step-result').textContent = say('step-' + result)
    if (detail) item.querySelector('.step-detail').textContent = detail
  }
  function stepName(step) { return box.querySelector('[data-step="' + step + '"] .step-name').textContent }

  function utf8(text) { return new TextEncoder().encode(text) }
  function fromBase64url(text) {
    if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error('not base64url')
    var b64 = text.replace(/-/g, '+').replace(/_/g, '/')
    while (b64.length % 4) b64 += '='
    var raw = atob(b64)
    var out = new Uint8Array(raw.length)
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i)
    return out
  }
  function jsonOf(part) {
    try { return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromBase64url(part))) } catch (e) { return undefined }
  }
  function fromHex(text) {
    if (typeof text !== 'string' || !/^([0-9a-f]{2})+$/i.test(text)) return undefined
    var out = new Uint8Array(text.length / 2)
    for (var i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16)
    return out
  }
  function toHex(bytes) {
    var out = ''
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16)
    return out
  }
  function concat(parts) {
    var size = 0
    for (var i = 0; i < parts.length; i++) size += parts[i].length
    var out = new Uint8Array(size)
    var at = 0
    for (var j = 0; j < parts.length; j++) { out.set(parts[j], at); at += parts[j].length }
    return out
  }

  // RFC 8785 for JSON data as parsed: sorted keys (code units: Array.prototype.sort's default), no whitespace.
  function canonical(value) {
    if (value === null) return 'null'
    if (Array.isArray(value)) return '[' + value.map(canonical).join(',') + ']'
    if (typeof value === 'object') {
      var keys = Object.keys(value).sort()
      var members = []
      for (var i = 0; i < keys.length; i++) {
        if (value[keys[i]] !== undefined) members.push(JSON.stringify(keys[i]) + ':' + canonical(value[keys[i]]))
      }
      return '{' + members.join(',') + '}'
    }
    if (typeof value === 'number' && !isFinite(value)) throw new Error('not JSON')
    return JSON.stringify(value)
  }

  async function sha256(bytes) { return new Uint8Array(await subtle.digest('SHA-256', bytes)) }
  function leafHash(entry) {
    var text = canonical({ index: entry.index, logId: entry.logId, loggedAt: entry.loggedAt, record: entry.record, segment: entry.segment, seq: entry.seq })
    return sha256(concat([new Uint8Array([0]), utf8(text)]))
  }
  function nodeHash(left, right) { return sha256(concat([new Uint8Array([1]), left, right])) }

  // RFC 9162 §2.1.3.2: the root an inclusion path leads to, or undefined when the path cannot fit the tree.
  async function rootFrom(index, size, leaf, path) {
    if (!(index >= 0 && index < size)) return undefined
    var fn = index
    var sn = size - 1
    var r = leaf
    for (var i = 0; i < path.length; i++) {
      if (sn === 0) return undefined
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(path[i], r)
        if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn >>= 1; sn >>= 1 }
      } else {
        r = await nodeHash(r, path[i])
      }
      fn >>= 1
      sn >>= 1
    }
    return sn === 0 ? r : undefined
  }

  async function signatureHolds(parts, header, keys) {
    if (!header || header.alg !== 'EdDSA' || header.typ !== 'qiao-audit-checkpoint+jws') return false
    var jwk = keys.filter(function (k) { return k.kid === header.kid && k.kty === 'OKP' && k.crv === 'Ed25519' })[0]
    if (!jwk) return false
    var key = await subtle.importKey('raw', fromBase64url(jwk.x), { name: 'Ed25519' }, false, ['verify'])
    try {
      return await subtle.verify({ name: 'Ed25519' }, key, fromBase64url(parts[2]), utf8(parts[0] + '.' + parts[1]))
    } catch (e) {
      return false
    }
  }

  async function check(receipt) {
    var keys = (JSON.parse(box.getAttribute('data-audit-keys') || '{}').keys) || []
    var jws = receipt && receipt.checkpoint && typeof receipt.checkpoint.jws === 'string' ? receipt.checkpoint.jws : ''
    var parts = jws.split('.')
    var header = parts.length === 3 ? jsonOf(parts[0]) : undefined
    var body = parts.length === 3 ? jsonOf(parts[1]) : undefined
    var entry = (receipt && receipt.entry) || {}
    var failed = []
    var sm3 = body && body.hashAlg === 'sm3'
    var sm2 = !!header && header.alg === 'SM2SM3'

    if (sm3) {
      mark('leaf', 'skipped')
      mark('path', 'skipped')
    } else {
      var leaf = await leafHash(entry)
      var placed = !!body && body.hashAlg === 'sha256' && !!entry.record && entry.record.id === box.getAttribute('data-record-id') &&
        entry.logId === body.logId && entry.segment === body.segment && entry.index < body.size
      mark('leaf', placed ? 'passed' : 'failed', toHex(leaf) + (placed ? '' : ' — ' + say('leaf-mismatch')))
      if (!placed) failed.push('leaf')
      var path = Array.isArray(receipt.proof) ? receipt.proof.map(fromHex) : [undefined]
      var root = body && path.every(function (p) { return p && p.length === 32 })
        ? await rootFrom(entry.index, body.size, leaf, path)
        : undefined
      var rooted = root !== undefined && toHex(root) === String(body.rootHash).toLowerCase()
      mark('path', rooted ? 'passed' : 'failed', (root ? toHex(root) : '—') + (rooted ? '' : ' — ' + say('root-mismatch')))
      if (!rooted) failed.push('path')
    }
    if (sm2) {
      mark('signature', 'skipped', 'kid ' + (header.kid || '—'))
    } else {
      var signed = await signatureHolds(parts, header, keys)
      mark('signature', signed ? 'passed' : 'failed', (header && header.kid ? 'kid ' + header.kid : '—') + (signed ? '' : ' — ' + say('signature-bad')))
      if (!signed) failed.push('signature')
    }

    if (failed.length > 0) finish('failed', say('failed') + '（' + say('failed-at') + '：' + failed.map(stepName).join('；') + '）')
    else if (sm3 || sm2) finish('unsupported', say('unsupported') + '：' + (sm3 ? say('sm3') : '') + (sm2 ? say('sm2') : ''))
    else finish('verified', say('verified'))
  }

  function unsupported(err) {
    // Ed25519 or SHA-256 missing (an older browser, or a page not served over HTTPS): nothing was judged.
    finish('unsupported', say('unsupported') + '：' + say('no-crypto') + (err && err.name ? ' (' + err.name + ')' : ''))
  }
  if (!subtle || typeof TextEncoder === 'undefined') return unsupported()
  fetch(box.getAttribute('data-receipt-proof'), { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } })
    .then(function (res) {
      if (!res.ok) throw new Error('HTTP ' + res.status)
      return res.json()
    })
    .then(
      function (receipt) {
        return check(receipt).catch(function (err) {
          if (err && err.name === 'NotSupportedError') unsupported(err)
          else finish('failed', say('failed') + ' (' + (err && err.message) + ')')
        })
      },
      function (err) { finish('error', say('no-proof') + ' (' + err.message + ')') },
    )
})()
`
