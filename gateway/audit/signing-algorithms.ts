/**
 * The names of the signature algorithms of signing.ts, apart so that the configuration can list them without
 * loading any cryptography.
 */
export const SIGNATURE_ALGORITHMS = ['Ed25519', 'SM2'] as const
/** What `QIAO_AUDIT_SIGNATURE_ALG` names. */
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number]

/** The JWS `alg` of each: EdDSA (RFC 8037); SM2 has no IANA name, so the private name `SM2SM3` (RFC 7515 §4.1.1). */
export const JWS_ALGORITHM = { Ed25519: 'EdDSA', SM2: 'SM2SM3' } as const satisfies Record<SignatureAlgorithm, string>
export type JwsAlgorithm = (typeof JWS_ALGORITHM)[SignatureAlgorithm]
export const JWS_ALGORITHMS: readonly JwsAlgorithm[] = Object.values(JWS_ALGORITHM)
