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

/** Bytes in binary units ("4.6 GiB"); `empty` when unknown. */
export function formatBytes(bytes: number | undefined, empty = '–'): string {
  if (bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return empty;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
