import { readFile, writeFile } from 'node:fs/promises'
import { settingsTable } from './config/settings.js'
import { problems } from './errors/codes.js'
import { problemType } from './errors/problem.js'

/**
 * README sections generated from the code's own declarations, so the docs cannot drift:
 * the configuration table (config/settings.ts) and the error catalogue (errors/codes.ts).
 * `npm run docs` rewrites them; a test fails when README is out of date.
 */
export function errorCatalogue(): string {
  const rows = Object.entries(problems).map(
    ([code, spec]) => `| \`${code}\` | ${spec.status} | ${spec.title} | ${spec.meaning} |`,
  )
  return [
    `Every error is \`application/problem+json\` (RFC 9457) with \`type\` = \`${problemType('internal').replace('internal', '{code}')}\`, \`title\`, \`status\`, \`detail\`, \`code\`, \`instance\` and \`requestId\`.`,
    '',
    '| Code | Status | Title | Meaning |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n')
}

export const GENERATED_SECTIONS: Record<string, () => string> = {
  'config-table': settingsTable,
  'error-catalogue': errorCatalogue,
}

export function renderGeneratedSections(readme: string): string {
  let out = readme
  for (const [name, render] of Object.entries(GENERATED_SECTIONS)) {
    const start = `<!-- ${name}:start -->`
    const end = `<!-- ${name}:end -->`
    const from = out.indexOf(start)
    const to = out.indexOf(end)
    if (from < 0 || to < from) throw new Error(`README.md: markers ${start} … ${end} not found`)
    out = `${out.slice(0, from + start.length)}\n${render()}\n${out.slice(to)}`
  }
  return out
}

if (process.argv[1]?.endsWith('docs.ts') || process.argv[1]?.endsWith('docs.js')) {
  const readme = await readFile('README.md', 'utf8')
  await writeFile('README.md', renderGeneratedSections(readme))
}
