/** A URL fit to print: any password (e.g. in a PostgreSQL connection string) replaced by ***. */
export function printableUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return url
  }
}
