/** Small helpers for the markdown the action writes (job summary, pull request body). */

/** Text for a table cell: one line, `|` and backticks escaped, no raw HTML. */
export function escapeCell(text: string): string {
  return text
    .replace(/\r?\n|\r/g, ' ')
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/`/g, '\\`')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}
