/**
 * A case id (办件编号) once decoded: letters and digits of any script and the punctuation real case numbers use
 * (宁建审〔2026〕12号), 1–64 characters. No spaces, controls or invisible format characters.
 */
export const CASE_ID = /^[\p{L}\p{N}._\-()[\]（）〔〕【】]{1,64}$/u

/** The case of the records a subscription's deliveries write: `subscription:<its id>`. */
export const SUBSCRIPTION_CASE = /^subscription:sub_[0-9a-f]{32}$/

/** What an audit record's `case` can hold: a caller's case id, or a subscription's. */
export const isAuditCaseId = (value: string): boolean => CASE_ID.test(value) || SUBSCRIPTION_CASE.test(value)
