/** A Markdown table with padded columns (CJK characters count double, as editors and Prettier show them). */
export function mdTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = []
  for (const row of rows)
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 3, displayWidth(cell))
  const line = (cells: readonly string[]) =>
    `| ${widths.map((w, i) => (cells[i] ?? '') + ' '.repeat(w - displayWidth(cells[i] ?? ''))).join(' | ')} |`
  const [header = [], ...body] = rows
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...body.map(line)].join('\n')
}

/**
 * Pads every table of a Markdown text again (names substituted into a table change its column widths). Cells are
 * split on `|`: the tables this is used for have no escaped pipes.
 */
export function realignTables(text: string): string {
  const lines = text.split('\n')
  const out: string[] = []
  for (let i = 0; i < lines.length; ) {
    if (!isTableLine(lines[i])) {
      out.push(lines[i] as string)
      i++
      continue
    }
    const rows: string[][] = []
    for (; i < lines.length && isTableLine(lines[i]); i++) {
      const cells = (lines[i] as string)
        .trim()
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim())
      if (!cells.every((cell) => /^-+$/.test(cell))) rows.push(cells)
    }
    out.push(mdTable(rows))
  }
  return out.join('\n')
}

function isTableLine(line: string | undefined): boolean {
  return line?.startsWith('|') === true && line.trimEnd().endsWith('|')
}

const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u

function displayWidth(text: string): number {
  let width = 0
  for (const c of text) width += WIDE.test(c) ? 2 : 1
  return width
}
