/** Durations and sizes as people read them in logs and summaries. */

/** "45s", "3m20s", "1h5m". */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 60) return `${totalSeconds}s`;
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  if (minutes < 60) return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`;
  const hours = Math.floor(minutes / 60);
  return `${hours}h${minutes % 60}m`;
}

/** Bytes in binary units ("4.6 GiB"); `empty` when unknown. */
export function formatBytes(bytes: number | undefined, empty = '–'): string {
  if (bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return empty;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  // Compared as shown (one decimal): 1023.99 KiB is "1.0 MiB", not "1024.0 KiB".
  while ((unit === 0 ? value : Number(value.toFixed(1))) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
