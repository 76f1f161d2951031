/**
 * Tag for the template literals that hold generated source. The raw text is used, so the generated code keeps its
 * backslashes (regular expressions) as written; only `\`` and `\${` are unescaped, which lets the template contain
 * the generated code's own template literals.
 *
 * @example
 * code`const greeting = \`hello \${name}\` // ${comment}` // → const greeting = `hello ${name}` // <comment>
 */
export function code(strings: TemplateStringsArray, ...values: readonly (string | number)[]): string {
  let out = ''
  for (const [i, raw] of strings.raw.entries()) {
    out += raw.replaceAll('\\`', '`').replaceAll('\\${', '${')
    if (i < values.length) out += String(values[i])
  }
  return out
}
