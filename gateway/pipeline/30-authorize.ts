import type { Principal } from '../auth/principal.js'
import type { CatalogSnapshot, CompiledGrant } from '../catalog/snapshot.js'
import type { Action, Resource } from '../catalog/types.js'
import { GatewayError } from '../errors/gateway-error.js'
import { CASE_ID } from '../policy/case-id.js'
import { type Decision, decide, type Purpose } from '../policy/decide.js'
import type { Authenticated, Authorized, Reached } from './exchange.js'

const MATTER_CODE = /^[A-Za-z0-9._-]{1,64}$/
/** RFC 8187 ext-value with UTF-8 and no language tag: `UTF-8''%E5%AE%81…`. */
const EXT_VALUE_PREFIX = /^utf-8''/i
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/
const HOW_TO_SEND_CASE =
  "send Chinese characters percent-encoded as UTF-8, e.g. Qiao-Case: UTF-8''%E5%AE%81%E5%BB%BA-2026-001 (宁建-2026-001)"

/** Qiao-Matter and Qiao-Case: every exchange call says which matter and which case it serves. */
export function readPurpose(matter: string | undefined, caseHeader: string | undefined): Purpose {
  if (matter === undefined || matter === '' || caseHeader === undefined || caseHeader === '') {
    const missing = [matter ? undefined : 'Qiao-Matter', caseHeader ? undefined : 'Qiao-Case'].filter(Boolean)
    throw new GatewayError('purpose-missing', { detail: `missing header(s): ${missing.join(', ')}` })
  }
  if (!MATTER_CODE.test(matter)) {
    throw new GatewayError('purpose-malformed', { detail: 'Qiao-Matter is not a matter code' })
  }
  return { matter, caseId: readCaseId(caseHeader) }
}

/**
 * Header values are ASCII on the wire (RFC 9110 §5.5), so a case id with Chinese characters comes percent-encoded
 * as UTF-8, either as an RFC 8187 ext-value (`UTF-8''…`) or plainly; `%` is not a case id character, so the two
 * cannot be confused with a literal value. The decoded text is checked and is what the audit record holds.
 */
function readCaseId(header: string): string {
  if (!PRINTABLE_ASCII.test(header)) {
    throw new GatewayError('purpose-malformed', {
      detail: `Qiao-Case holds characters a header cannot carry as they are: ${HOW_TO_SEND_CASE}`,
    })
  }
  const encoded = header.replace(EXT_VALUE_PREFIX, '')
  let caseId = encoded
  if (encoded.includes('%')) {
    try {
      caseId = decodeURIComponent(encoded).normalize('NFC')
    } catch {
      throw new GatewayError('purpose-malformed', {
        detail: `Qiao-Case is not valid percent-encoded UTF-8: ${HOW_TO_SEND_CASE}`,
      })
    }
  }
  if (!CASE_ID.test(caseId)) {
    throw new GatewayError('purpose-malformed', {
      detail: 'Qiao-Case must be 1–64 letters, digits or ._-()[]（）〔〕【】 (percent-encoded as UTF-8 when not ASCII)',
    })
  }
  return caseId
}

/** The resource named in the path; unknown resources are 404 for everyone. */
export function findResource(snapshot: CatalogSnapshot, resourceId: string): Resource {
  const resource = snapshot.catalog.resources.get(resourceId)
  if (!resource) throw new GatewayError('resource-not-found', { detail: 'no such resource in the catalog' })
  return resource
}

/**
 * Applies the access decision over the snapshot's compiled grants of this action; returns the compiled grant (with
 * its projector and the resource's binding for the action) or throws the 403 that explains the denial.
 */
export function authorize<G extends CompiledGrant>(
  snapshot: CatalogSnapshot,
  grants: ReadonlyMap<string, G>,
  principal: Principal,
  purpose: Purpose,
  resource: Resource,
  action: Action,
  now: number,
): G {
  const decision = decide(snapshot.catalog, grants, principal, purpose, resource, action, now)
  if (!decision.allow) throw refusal(decision)
  return decision.grant
}

/**
 * The 403 of a denial, with what the caller needs to fix the call: the scope to ask for, the matters that cover
 * it (`matters: [{code, name}]`, empty when none does), or, refused under a grant (grant-revoked), its approval,
 * which the audit record names too.
 */
function refusal(decision: Extract<Decision<CompiledGrant>, { allow: false }>): GatewayError {
  const extensions: Record<string, unknown> = {}
  if (decision.requiredScope !== undefined) extensions.requiredScope = decision.requiredScope
  if (decision.matters !== undefined) extensions.matters = decision.matters
  const approvalRef = decision.grant?.grant.approval?.ref
  if (approvalRef !== undefined) extensions.approvalRef = approvalRef
  return new GatewayError(decision.code, {
    detail: decision.detail,
    extensions: Object.keys(extensions).length > 0 ? extensions : undefined,
  })
}

/** The exchange stage: purpose headers, the resource, and the access decision with the grant it found. */
export function authorizeCall(
  call: Authenticated,
  matter: string | undefined,
  caseHeader: string | undefined,
  now: number,
): Authorized {
  const reached: Reached = call
  const purpose = readPurpose(matter, caseHeader)
  reached.purpose = purpose
  const resource = findResource(call.snapshot, call.resourceId)
  reached.resource = resource
  const { snapshot, principal } = call
  // Grants are compiled per action, so the grant found carries the binding this action needs (tsc checks it).
  const grant =
    call.action === 'read'
      ? authorize(snapshot, snapshot.grants.read, principal, purpose, resource, 'read', now)
      : authorize(snapshot, snapshot.grants.write, principal, purpose, resource, 'write', now)
  reached.grant = grant
  reached.binding = grant.binding
  return call as Authorized
}
