import type { ValidateFunction } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { addCodePointLengths } from './string-length.js'

/**
 * Validators for the exchange path, where nearly every document is valid. Ajv's allErrors mode (the catalog's,
 * so a 400 lists every violation) keeps checking after the first failure and tracks an error list throughout; a
 * validator compiled without it stops at the first failure and is cheaper on valid data too. So the exchange path
 * runs that one — the hot validator — and only when it fails runs the catalog's own validator for the complete
 * report: answers and logs describe a failure exactly as before.
 *
 * The hot validator is compiled, once, by a twin of the instance that compiled the catalog's validator: the same
 * options but allErrors, and the same formats (copied from it) and length keywords. The twin is strict like its
 * original, so anything it lacks (a keyword or schema added to the original later) makes its compile throw; the
 * catalog's validator is then used as it is. Both give the same verdict on every document: a twin never admits
 * more than its original.
 */

/** The twin of each instance that has compiled a hot validator. */
const twins = new WeakMap<Ajv2020, Ajv2020>()
/** Which instance compiled a validator (recorded by `recordCompiles`). */
const compiledBy = new WeakMap<ValidateFunction, Ajv2020>()
const hotValidators = new WeakMap<ValidateFunction, ValidateFunction>()

/** Remembers the validators `ajv` compiles, so `hotValidator` can find their twin (called by createAjv). */
export function recordCompiles(ajv: Ajv2020): Ajv2020 {
  const compile = ajv.compile.bind(ajv)
  ajv.compile = ((schema: Parameters<Ajv2020['compile']>[0], meta?: boolean) => {
    const validate = compile(schema, meta)
    compiledBy.set(validate, ajv)
    return validate
  }) as Ajv2020['compile']
  return ajv
}

/**
 * The validator the exchange path runs for `full`: same verdict, no error report (run `full` for that when it
 * fails). Compiled on first use and kept as long as `full` is.
 */
export function hotValidator(full: ValidateFunction): ValidateFunction {
  let hot = hotValidators.get(full)
  if (hot === undefined) {
    hot = compileTwin(full) ?? full
    hotValidators.set(full, hot)
  }
  return hot
}

function compileTwin(full: ValidateFunction): ValidateFunction | undefined {
  const origin = compiledBy.get(full)
  if (origin === undefined || full.schema === undefined) return undefined
  try {
    return twinOf(origin).compile(full.schema)
  } catch {
    return undefined
  }
}

function twinOf(origin: Ajv2020): Ajv2020 {
  let twin = twins.get(origin)
  if (twin === undefined) {
    twin = addCodePointLengths(new Ajv2020({ ...origin.opts, allErrors: false }))
    for (const [name, format] of Object.entries(origin.formats)) {
      if (format !== undefined) twin.addFormat(name, format)
    }
    twins.set(origin, twin)
  }
  return twin
}
