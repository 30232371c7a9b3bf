/**
 * Text-level helpers for editing YAML in place: line endings, template detection, rendering a
 * scalar in a given quoting style, and applying a set of non-overlapping splices.
 */

/** The line ending most used in `source` (`\r\n` or `\n`); `\n` when there is no line break. */
export function detectEol(source: string): '\r\n' | '\n' {
  let crlf = 0;
  let lf = 0;
  for (let i = source.indexOf('\n'); i !== -1; i = source.indexOf('\n', i + 1)) {
    if (i > 0 && source[i - 1] === '\r') crlf++;
    else lf++;
  }
  return crlf > lf ? '\r\n' : '\n';
}

/**
 * Where the comment of one line starts (index of `#`), or -1. A `#` starts a comment at the start
 * of the line or after whitespace, outside quoted scalars. Quotes only open at the start of a
 * token, so an apostrophe inside a plain scalar (`it's`) is not taken for a quote.
 */
export function commentStart(line: string): number {
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    const prev = i > 0 ? line[i - 1] : undefined;
    if (quote === '"') {
      if (ch === '\\') i++;
      else if (ch === '"') quote = null;
      continue;
    }
    if (quote === "'") {
      if (ch === "'") {
        if (line[i + 1] === "'") i++;
        else quote = null;
      }
      continue;
    }
    const tokenStart = prev === undefined || /[\s:[\]{},-]/.test(prev);
    if ((ch === '"' || ch === "'") && tokenStart) {
      quote = ch;
      continue;
    }
    if (ch === '#' && (prev === undefined || prev === ' ' || prev === '\t')) return i;
  }
  return -1;
}

/**
 * The 1-based line of the first Helm/Go template marker (`{{`) outside a comment, or undefined.
 * Such files are not valid YAML until rendered, so they are skipped rather than edited.
 */
export function findTemplateMarker(source: string): number | undefined {
  if (!source.includes('{{')) return undefined;
  const lines = source.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] ?? '';
    const at = line.indexOf('{{');
    if (at === -1) continue;
    const comment = commentStart(line);
    if (comment === -1 || at < comment) return n + 1;
  }
  return undefined;
}

/**
 * The offset where a new line can be inserted after the text at `offset`: just past the end of
 * the line holding `offset` (after its line break), or `source.length` when that line is the last
 * one and has no line break. When `offset` already sits at the start of a line, it is returned.
 */
export function lineEndAfter(source: string, offset: number): number {
  if (offset > 0 && source[offset - 1] === '\n') return offset;
  const nl = source.indexOf('\n', offset);
  return nl === -1 ? source.length : nl + 1;
}

/** The start offset of the line holding `offset`. */
export function lineStartOf(source: string, offset: number): number {
  return source.lastIndexOf('\n', offset - 1) + 1;
}

/** The quoting styles the rewriter writes; block scalars are never written. */
export type ScalarStyle = 'PLAIN' | 'QUOTE_SINGLE' | 'QUOTE_DOUBLE';

/** Plain scalars that stay strings in YAML 1.1 and 1.2 and need no quoting. */
const SAFE_PLAIN_STRING = /^[A-Za-z/_][A-Za-z0-9._/@-]*$/;
const RESERVED_PLAIN =
  /^(?:true|false|yes|no|on|off|y|n|null|~|True|False|Yes|No|On|Off|TRUE|FALSE|YES|NO|ON|OFF|Null|NULL)$/;

/**
 * A scalar's source text in `style`. Numbers are always written plain (a quoted number keeps its
 * quotes only when `style` asks for them). A string that is not safe as a plain scalar is
 * double-quoted even when `style` is PLAIN.
 */
export function renderScalar(value: string | number, style: ScalarStyle): string {
  const text = String(value);
  if (style === 'QUOTE_SINGLE') return `'${text.replace(/'/g, "''")}'`;
  if (style === 'QUOTE_DOUBLE') return JSON.stringify(text);
  if (typeof value === 'number') return text;
  if (SAFE_PLAIN_STRING.test(text) && !RESERVED_PLAIN.test(text)) return text;
  if (/^\d+(?:Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)$/.test(text)) return text;
  return JSON.stringify(text);
}

/** A splice of the original text: replace `[start, end)` with `text` (an insertion when equal). */
export interface Edit {
  start: number;
  end: number;
  text: string;
  /** For insertions at the same offset: deeper ones are written first. */
  depth: number;
}

/**
 * Applies edits made against the original offsets in one forward pass over the original text
 * (equivalent to splicing from the end backwards: every offset refers to `source`). Identical
 * edits are applied once. Overlapping edits are a bug in the caller and throw.
 */
export function applyEdits(source: string, edits: readonly Edit[]): string {
  const seen = new Set<string>();
  const unique = edits.filter((e) => {
    const key = `${e.start}:${e.end}:${e.text}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  unique.sort((a, b) => {
    if (a.start !== b.start) return a.start - b.start;
    const aInsert = a.start === a.end ? 0 : 1;
    const bInsert = b.start === b.end ? 0 : 1;
    if (aInsert !== bInsert) return aInsert - bInsert;
    return b.depth - a.depth;
  });
  let out = '';
  let cursor = 0;
  for (const edit of unique) {
    if (edit.start < cursor) {
      throw new Error(`Internal error: overlapping manifest edits at offset ${edit.start}`);
    }
    out += source.slice(cursor, edit.start) + edit.text;
    cursor = edit.end;
  }
  return out + source.slice(cursor);
}
