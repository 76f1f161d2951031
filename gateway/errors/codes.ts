// Over 400 lines: every problem code in one place, by design (the stable contract clients and auditors key on).
/**
 * Every problem Qiao answers with, in one place. The code is the stable contract: clients and auditors key on it,
 * so a code is never renamed or reused. `title` is the short public summary (RFC 9457 §3.1.4); details specific to
 * one occurrence go into the error's `detail`.
 */
export interface ProblemSpec {
  readonly status: number
  readonly title: string
  /** What the code means, for the error catalogue in README and at GET /problems/{code}. */
  readonly meaning: string
  /** RFC 6750 §3.1 error code for the WWW-Authenticate header, where the problem is about the bearer token. */
  readonly bearerError?: 'invalid_request' | 'invalid_token' | 'insufficient_scope'
}

export const problems = {
  // 401: the token itself
  'token-missing': {
    status: 401,
    title: 'Bearer token required',
    meaning: 'No `Authorization: Bearer` header was sent.',
  },
  'token-invalid': {
    status: 401,
    title: 'Bearer token invalid',
    meaning: 'The token is malformed, its signature does not verify, or its algorithm or type is not allowed.',
    bearerError: 'invalid_token',
  },
  'token-expired': {
    status: 401,
    title: 'Bearer token expired',
    meaning: 'The token `exp` is in the past (beyond the clock tolerance).',
    bearerError: 'invalid_token',
  },
  'token-not-yet-valid': {
    status: 401,
    title: 'Bearer token not yet valid',
    meaning: 'The token `nbf` or `iat` is in the future (beyond the clock tolerance).',
    bearerError: 'invalid_token',
  },
  'token-claims-invalid': {
    status: 401,
    title: 'Bearer token claims invalid',
    meaning: 'A required claim is missing or wrong: `iss`, `aud`, `exp`, `sub`, `dept` or `scope`.',
    bearerError: 'invalid_token',
  },
  'token-lifetime-exceeded': {
    status: 401,
    title: 'Bearer token lives too long',
    meaning:
      'The token lifetime (`exp − iat`, or `exp − now` without `iat`) exceeds the longest the gateway accepts (`QIAO_TOKEN_MAX_LIFETIME`); ask the issuer for shorter-lived tokens.',
    bearerError: 'invalid_token',
  },
  'token-key-unknown': {
    status: 401,
    title: 'Signing key unknown',
    meaning: 'No key in the issuer key set matches the token `kid`, even after refreshing the key set.',
    bearerError: 'invalid_token',
  },
  // 400, 404, 405, 409, 413, 415: the request
  'purpose-missing': {
    status: 400,
    title: 'Purpose headers required',
    meaning: 'Exchange calls must declare `Qiao-Matter` (the matter code) and `Qiao-Case` (the case id).',
  },
  'purpose-malformed': {
    status: 400,
    title: 'Purpose headers malformed',
    meaning:
      "`Qiao-Matter` must be a matter code; `Qiao-Case` must be 1–64 letters, digits or `._-()[]（）〔〕【】`. Header values are ASCII: send Chinese characters percent-encoded as UTF-8 (`Qiao-Case: UTF-8''%E5%AE%81…`).",
  },
  'path-malformed': {
    status: 400,
    title: 'Request path malformed',
    meaning: 'The resource id in the path is not valid percent-encoded UTF-8 (e.g. a lone `%` or `%FF`).',
  },
  'body-malformed': {
    status: 400,
    title: 'Request body is not valid JSON',
    meaning: 'The body could not be parsed as a JSON object.',
  },
  'params-invalid': {
    status: 400,
    title: 'Request parameters invalid',
    meaning:
      'The parameters violate the resource request schema; `errors` lists the violations by JSON pointer (the first 20: beyond, `truncated` is true and `total` counts them all); an unknown parameter brings `allowed`, the parameters the resource takes.',
  },
  'idempotency-key-missing': {
    status: 400,
    title: 'Idempotency-Key header required',
    meaning: 'Writes must carry an `Idempotency-Key` header (1–128 printable ASCII characters).',
  },
  'query-invalid': {
    status: 400,
    title: 'Query invalid',
    meaning:
      'A listing query (the audit API, applications, grants) has an unknown, repeated or malformed parameter (filter, `limit`, `cursor`, `format`), such as an audit `subject` that is not a valid USCC, resident id or organisation code; `errors` lists each by name.',
  },
  'resource-not-found': {
    status: 404,
    title: 'Resource not found',
    meaning: 'No resource with that id is in the catalog.',
  },
  'matter-not-found': {
    status: 404,
    title: 'Matter not found',
    meaning: 'No matter with that code is in the catalog (`POST /v1/matters/{code}/evidence`).',
  },
  'evidence-not-declared': {
    status: 404,
    title: 'Matter declares no evidence',
    meaning:
      'The matter has no `evidence:` block in the catalog, so there is no evidence bundle to fetch; query its resources one by one.',
  },
  'record-not-found': {
    status: 404,
    title: 'Record not found',
    meaning: 'The provider system holds no record for these parameters.',
  },
  'audit-record-not-found': {
    status: 404,
    title: 'Audit record not found',
    meaning: 'No audit record with that id, or it is not yet covered by a signed checkpoint of its log.',
  },
  'route-not-found': {
    status: 404,
    title: 'Not found',
    meaning: 'No such endpoint.',
  },
  'method-not-allowed': {
    status: 405,
    title: 'Method not allowed',
    meaning: 'The endpoint exists but not for this HTTP method.',
  },
  'idempotency-conflict': {
    status: 409,
    title: 'Idempotency key reused with a different body',
    meaning: 'The `Idempotency-Key` was already used for a different request body or target.',
  },
  'catalog-invalid': {
    status: 422,
    title: 'Catalog not reloaded: the new file is invalid',
    meaning:
      'The reloaded catalog has problems (listed in `errors` as file:line:col); the running catalog keeps serving.',
  },
  'idempotency-in-flight': {
    status: 409,
    title: 'A request with this Idempotency-Key is still being delivered',
    meaning: 'The first request with this key has not finished; retry later with the same key.',
  },
  'idempotency-outcome-unknown': {
    status: 409,
    title: 'The first delivery with this Idempotency-Key has an unknown outcome',
    meaning:
      'The first delivery timed out or was interrupted, so the provider may or may not have it. It is never re-sent under this key: check with the provider, then use a new key.',
  },
  'idempotency-answer-not-kept': {
    status: 409,
    title: 'The first request with this Idempotency-Key succeeded; its answer was not kept',
    meaning:
      'The first request with this key was delivered and answered, but its answer was larger than QIAO_IDEMPOTENCY_MAX_ANSWER, so a retry gets only its status (`firstStatus`) and audit id (`firstAuditId`). It is never re-sent under this key.',
  },
  'client-gone': {
    status: 499,
    title: 'Client closed the request',
    meaning:
      'The caller closed its connection before the answer was ready (status 499 as nginx logs it); recorded in the audit log, not counted against the provider.',
  },
  'body-too-large': {
    status: 413,
    title: 'Request body too large',
    meaning: 'The body exceeds the configured limit (`QIAO_BODY_LIMIT`).',
  },
  'unsupported-media-type': {
    status: 415,
    title: 'Unsupported media type',
    meaning: 'Exchange calls accept `application/json` bodies only.',
  },
  // 429: quotas
  'quota-exceeded': {
    status: 429,
    title: 'Quota exceeded',
    meaning:
      'A quota of the catalog (per department, matter or resource) has no calls left for now; `quota` names it. See `Retry-After` and the `RateLimit` / `RateLimit-Policy` fields.',
  },
  // 403: the decision
  'insufficient-scope': {
    status: 403,
    title: 'Token scope does not cover this call',
    meaning:
      'The token has no `<matter>:<resource>:<action>` scope (or `audit:read`) for this call; `requiredScope` names it. On an exchange call the matter does cover the call (else `matter-unknown` or `grant-missing`), and `matters` lists the matters that do.',
    bearerError: 'insufficient_scope',
  },
  'client-not-permitted': {
    status: 403,
    title: 'Client not permitted',
    meaning:
      'The token’s `client_id` is not one of the portals allowed to show data subjects who read their data (`QIAO_SUBJECT_PORTAL_CLIENTS`); the scope alone does not suffice.',
  },
  'role-separation': {
    status: 403,
    title: 'Auditor tokens cannot exchange data',
    meaning:
      'The token carries `audit:read`: auditors read the audit log and never exchange data (GB/T 39477 role separation); use a separate token.',
  },
  'department-unknown': {
    status: 403,
    title: 'Department not registered',
    meaning: 'The token `dept` is not a department of the catalog.',
  },
  'matter-unknown': {
    status: 403,
    title: 'Matter not in catalog',
    meaning:
      'The declared `Qiao-Matter` is not a matter of the catalog (checked before the token scope, so no scope is asked for); `matters` lists the matters that cover this call for the calling department, as for `grant-missing`.',
  },
  'grant-missing': {
    status: 403,
    title: 'No grant for this department, matter and resource',
    meaning:
      'The matter does not grant this action on this resource to the calling department; `matters` (`[{code, name}]`) lists the matters that do, with an approval in force. An empty list means none does: apply for one with `POST /v1/applications`.',
  },
  'grant-not-yet-valid': {
    status: 403,
    title: 'Grant not yet valid',
    meaning: 'The approval behind the grant starts later.',
  },
  'grant-expired': {
    status: 403,
    title: 'Grant expired',
    meaning: 'The approval behind the grant has ended; a renewed approval must be recorded in the catalog.',
  },
  'resource-not-shared': {
    status: 403,
    title: 'Resource is not shared',
    meaning: 'The resource is classified 不予共享 (not shared); no matter can grant it.',
  },
  'grant-revoked': {
    status: 403,
    title: 'Grant revoked',
    meaning:
      'The live grant behind this call was revoked by the provider or the data-sharing authority (`approvalRef` names it; its reason is in `/v1/grants/{id}`). A new application is needed.',
  },
  // The sharing workflow (/v1/applications, /v1/grants)
  'application-invalid': {
    status: 422,
    title: 'Application invalid',
    meaning:
      'The application (or its renewal or resubmission) is incomplete or inconsistent with the catalog; `errors` lists every problem by JSON pointer. A 不予共享 resource cannot be applied for: the catalog’s reason is given.',
  },
  'decision-invalid': {
    status: 422,
    title: 'Decision invalid',
    meaning:
      'A conformity check, review, notice or revocation is malformed or incomplete (a refusal or revocation needs a reason; approved fields must be within those applied for); `errors` lists every problem by JSON pointer.',
  },
  'notice-item-repeated': {
    status: 422,
    title: 'Item already noticed',
    meaning:
      '一次性告知: everything missing is named in one notice, so an application cannot be bounced twice for the same item; `errors` names the repeated items.',
  },
  'application-not-found': {
    status: 404,
    title: 'Application not found',
    meaning: 'No application with this id, or none the caller’s department may see.',
  },
  'grant-not-found': {
    status: 404,
    title: 'Grant not found',
    meaning: 'No grant with this id, or none the caller’s department may see.',
  },
  'sharing-not-permitted': {
    status: 403,
    title: 'Not permitted in the sharing workflow',
    meaning:
      'The token’s scope or department cannot take this step: applying needs `sharing:apply`, the conformity check `sharing:admin`, a review or revocation `sharing:review` of the provider department.',
  },
  'separation-of-duties': {
    status: 403,
    title: 'Separation of duties',
    meaning:
      'Nobody checks or reviews an application their own department filed, and the applicant never approves their own application.',
  },
  'transition-not-allowed': {
    status: 409,
    title: 'Step not allowed in this state',
    meaning:
      'The application (or grant) is not in a state where this step can be taken, e.g. a review of an application still in its conformity check; `state` says where it is.',
  },
  'precondition-required': {
    status: 428,
    title: 'If-Match required',
    meaning:
      'Workflow steps must name the state they act on: send `If-Match` with the ETag of the application or grant as last read.',
  },
  'precondition-failed': {
    status: 412,
    title: 'State changed meanwhile',
    meaning:
      'The `If-Match` ETag is not the current one: someone else acted first. Read the application again and decide on what it now says.',
  },
  'objection-invalid': {
    status: 422,
    title: 'Objection invalid',
    meaning:
      'A data objection is malformed or does not fit the call it names: `errors` lists every problem by JSON pointer (the record key is not the resource’s key field, the field is unknown or that call did not release it, the audit id is not a read of this resource by your department that released records).',
  },
  'objection-not-found': {
    status: 404,
    title: 'Objection not found',
    meaning: 'No data objection with this id, or none the caller’s department may see.',
  },
  // Subscriptions (/v1/subscriptions)
  'subscription-invalid': {
    status: 422,
    title: 'Subscription invalid',
    meaning:
      'The subscription asked for is malformed: `errors` lists every problem by JSON pointer (matter, resource, filter regions or keys — at most 1,000 —, delivery kind, webhook URL).',
  },
  'subscription-not-found': {
    status: 404,
    title: 'Subscription not found',
    meaning: 'No subscription with this id, or none of the caller’s department.',
  },
  'resource-has-no-change-feed': {
    status: 422,
    title: 'Resource has no change feed',
    meaning:
      'The resource has no `changes:` binding in the catalog, so its changes cannot be subscribed to; read it instead.',
  },
  'subscription-suspended': {
    status: 409,
    title: 'Subscription suspended',
    meaning:
      'The grant the subscription rests on was revoked, superseded or has expired (`reason` says which): nothing more is delivered and its undelivered events were dropped. Delete it and subscribe again under a new grant.',
  },
  'subscription-cursor-invalid': {
    status: 400,
    title: 'Cursor invalid',
    meaning: '`after` is not a cursor of this subscription’s events (16 digits, as `next` gives them).',
  },
  // 5xx: upstream and gateway
  'upstream-rejected': {
    status: 502,
    title: 'Provider system rejected the request',
    meaning:
      'The legacy system refused the call (signature, parameter or business error); its code is in `upstreamCode`.',
  },
  'upstream-bad-response': {
    status: 502,
    title: 'Provider system answered malformed data',
    meaning: 'The legacy answer could not be parsed or mapped.',
  },
  'upstream-invalid': {
    status: 502,
    title: 'Provider data failed validation',
    meaning: 'The mapped answer violates the resource response schema; none of it was released.',
  },
  'upstream-unavailable': {
    status: 503,
    title: 'Provider system unavailable',
    meaning: 'The connection was refused or reset, or the provider answered 5xx.',
  },
  'upstream-circuit-open': {
    status: 503,
    title: 'Provider system temporarily suspended',
    meaning:
      'Repeated failures opened the circuit breaker for this provider system; calls fail fast until a probe succeeds. See `Retry-After`.',
  },
  'upstream-overloaded': {
    status: 503,
    title: 'Too many calls to the provider system',
    meaning:
      'The concurrency limit towards this provider system is reached; the call was not queued. See `Retry-After`.',
  },
  'upstream-timeout': {
    status: 504,
    title: 'Provider system timed out',
    meaning: 'The provider did not answer within the resource deadline.',
  },
  'gateway-draining': {
    status: 503,
    title: 'Gateway shutting down',
    meaning:
      'This gateway instance is draining before it stops (`QIAO_DRAIN_PRESTOP`); the call was not served. Retry it (see `Retry-After`): the load balancer sends it to another instance.',
  },
  'auth-keys-unavailable': {
    status: 503,
    title: 'Issuer keys unavailable',
    meaning: 'The issuer key set (JWKS) could not be fetched, so no token can be verified right now.',
  },
  'audit-unavailable': {
    status: 503,
    title: 'Audit store unavailable',
    meaning: 'The audit record could not be made durable, so nothing is served (fail closed).',
  },
  'timestamping-unavailable': {
    status: 503,
    title: 'Audit timestamping unavailable',
    meaning:
      'No audit checkpoint could be timestamped by the time-stamping authority for longer than QIAO_AUDIT_TSA_POLICY allows, so exchange calls are refused until it answers again.',
  },
  internal: {
    status: 500,
    title: 'Internal error',
    meaning: 'An unexpected gateway fault; the request id locates it in the operational log.',
  },
} as const satisfies Record<string, ProblemSpec>

export type ProblemCode = keyof typeof problems

export function isProblemCode(code: string): code is ProblemCode {
  return Object.hasOwn(problems, code)
}
