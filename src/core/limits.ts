/**
 * GitHub's limits on what a step hands back, kept whatever the size of the run (10,000 manifest
 * documents, 500 images): an output is at most 1 MB, a step's job summary at most 1 MiB
 * (GitHub docs, "Workflow commands": GITHUB_OUTPUT and GITHUB_STEP_SUMMARY). What does not fit is
 * left out with a note saying how much, and the log keeps all of it.
 */
export const MAX_OUTPUT_BYTES = 1_000_000;
export const MAX_SUMMARY_BYTES = 1_048_576;
/** Room kept for the note that says what was left out. */
const NOTE_BYTES = 200;

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** A JSON array of as many of `items`, from the first, as fit in `maxBytes`. */
export function jsonListWithin<T>(
  items: readonly T[],
  maxBytes = MAX_OUTPUT_BYTES,
): { json: string; kept: number } {
  const whole = JSON.stringify(items);
  if (bytes(whole) <= maxBytes) return { json: whole, kept: items.length };
  const parts: string[] = [];
  let size = 2; // the brackets
  for (const item of items) {
    const part = JSON.stringify(item);
    const added = bytes(part) + (parts.length > 0 ? 1 : 0);
    if (size + added > maxBytes) break;
    parts.push(part);
    size += added;
  }
  return { json: `[${parts.join(',')}]`, kept: parts.length };
}

/** The summary, cut at a line within `maxBytes` when it is longer, with a note saying so. */
export function summaryWithin(markdown: string, maxBytes = MAX_SUMMARY_BYTES): string {
  if (bytes(markdown) <= maxBytes) return markdown;
  const budget = maxBytes - NOTE_BYTES;
  const lines = markdown.split('\n');
  let size = 0;
  let kept = 0;
  while (kept < lines.length && size + bytes(lines[kept] ?? '') + 1 <= budget) {
    size += bytes(lines[kept] ?? '') + 1;
    kept++;
  }
  const left = lines.length - kept;
  return (
    `${lines.slice(0, kept).join('\n')}\n\n` +
    `> ${left} more line${left === 1 ? '' : 's'} of this summary are left out: GitHub keeps 1 MiB of a step's summary. The log has all of it.\n`
  );
}
