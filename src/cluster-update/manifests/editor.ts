/**
 * In-place editing of a YAML text through the `yaml` library's node ranges.
 *
 * The document model is used only to find nodes; the output is the original text with splices:
 * a scalar replaced in its own quoting style, a new line at the siblings' indentation in a block
 * mapping, `, key: value` at the end of a flow mapping. Nothing is re-serialized.
 *
 * Anchors and aliases: an edit lands on the node that holds the text, which for an alias is the
 * anchored node. Such a node (or a collection containing it) may be used elsewhere, so each
 * document is walked twice: a dry pass records every anchor/alias reference that the selected
 * targets go through, then the real pass edits a shared node only when every reference to it was
 * recorded, i.e. when all its users are data volumes being updated. Otherwise a scalar alias is
 * replaced by the value itself, and anything else is left unchanged with a warning.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Alias,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';
import {
  applyEdits,
  detectEol,
  lineEndAfter,
  lineStartOf,
  renderScalar,
  type Edit,
  type ScalarStyle,
} from './source.js';
import type { ManifestFinding, MissingDataVolume, TargetUpdate } from './types.js';

export type ParsedDocument = Document.Parsed;

/** A value to write: rendered scalar text, or a nested mapping that does not exist yet. */
type NewValue = { scalar: string } | { map: NewMap };

interface NewMap {
  entries: Array<[string, NewValue]>;
  /** Quoting style for string values inside it. */
  style: ScalarStyle;
  keyStyle: ScalarStyle;
}

/** Where writes to a mapping go: an existing node, or a mapping being created. */
export type MapRef = { node: YAMLMap; style: ScalarStyle } | { created: NewMap };

export interface WriteResult {
  /** The value before, as a string; null when there was none. */
  previous: string | null;
  /** Whether the text changes. */
  changed: boolean;
  /** False when the write could not be made (a warning says why). */
  ok: boolean;
}

/** A mapping of the document (not one this editor adds). */
type ExistingMapRef = Extract<MapRef, { node: YAMLMap }>;

/** Whether a scalar's value already is `value`: numbers compare numerically (`'80'` equals 80), strings exactly. */
function sameScalar(current: unknown, value: string | number): boolean {
  return typeof value === 'number'
    ? current !== null && current !== '' && Number(current) === value
    : current === value;
}

export class ManifestEditor {
  readonly eol: string;
  readonly targets: TargetUpdate[] = [];
  readonly warnings: ManifestFinding[] = [];
  readonly notices: ManifestFinding[] = [];
  readonly missing: MissingDataVolume[] = [];
  private readonly lineStarts: number[] = [0];
  private readonly edits: Edit[] = [];

  // Per document.
  private doc: ParsedDocument | undefined;
  private indentStep = 2;
  private pending = new Map<YAMLMap, Array<[string, NewValue]>>();
  private attachments: Array<{ map: NewMap; apply: (m: NewMap) => Edit }> = [];
  private parents = new Map<Node, Node>();
  private aliasesOf = new Map<Node, Alias[]>();
  private used = new Set<Node>();
  private scratch: Set<Node> | null = null;
  private dry = false;
  private noticedAnchors = new Set<Node>();

  constructor(readonly source: string) {
    this.eol = detectEol(source);
    for (let i = source.indexOf('\n'); i !== -1; i = source.indexOf('\n', i + 1)) {
      this.lineStarts.push(i + 1);
    }
  }

  /** The edited text. */
  content(): string {
    return this.edits.length > 0 ? applyEdits(this.source, this.edits) : this.source;
  }

  // --- documents and targets -----------------------------------------------------------------

  /**
   * Runs `handler` over one document twice: a dry pass whose output is discarded but which
   * records the anchors and aliases the selected targets use, then the real pass.
   */
  processDocument(doc: ParsedDocument, root: YAMLMap, handler: () => void): void {
    this.doc = doc;
    this.indexDocument(root);
    this.indentStep = this.detectIndentStep(root);
    this.used = new Set();
    const marks = [
      this.targets.length,
      this.warnings.length,
      this.notices.length,
      this.edits.length,
      this.missing.length,
    ];
    this.dry = true;
    handler();
    this.dry = false;
    this.targets.length = marks[0] ?? 0;
    this.warnings.length = marks[1] ?? 0;
    this.notices.length = marks[2] ?? 0;
    this.edits.length = marks[3] ?? 0;
    this.missing.length = marks[4] ?? 0;
    this.pending = new Map();
    this.attachments = [];
    this.noticedAnchors = new Set();
    handler();
    this.flushDocument();
    this.scratch = null;
  }

  /** Starts recording the anchors/aliases one candidate target goes through. */
  beginTarget(): void {
    this.scratch = new Set();
  }

  /** Stops recording; keeps the references when the candidate is a selected target. */
  endTarget(selected: boolean): void {
    if (selected && this.scratch) for (const node of this.scratch) this.used.add(node);
    this.scratch = null;
  }

  warn(line: number, message: string, notBottlerocket = false): void {
    this.warnings.push(notBottlerocket ? { line, message, notBottlerocket } : { line, message });
  }

  notice(line: number, message: string): void {
    this.notices.push({ line, message });
  }

  // --- reading ---------------------------------------------------------------------------------

  /** The node behind an alias (recording the reference while a target is open). */
  resolve(node: unknown): Node | undefined {
    if (node === null || node === undefined) return undefined;
    const n = node as Node;
    if (this.scratch && (isAlias(n) || n.anchor !== undefined)) this.scratch.add(n);
    if (isAlias(n)) return this.doc ? n.resolve(this.doc) : undefined;
    return n;
  }

  ownPair(map: YAMLMap, key: string): Pair | undefined {
    for (const item of map.items) {
      const k = item.key;
      if (isScalar(k) && String(k.value) === key) return item as Pair;
    }
    return undefined;
  }

  /** The mappings merged into `map` with `<<`, in precedence order. */
  private merged(map: YAMLMap): YAMLMap[] {
    const pair = this.ownPair(map, '<<');
    if (!pair) return [];
    const value = this.resolve(pair.value);
    if (isMap(value)) return [value];
    if (isSeq(value)) return value.items.map((i) => this.resolve(i)).filter((n) => isMap(n));
    return [];
  }

  /** The value of `key` (own keys first, then `<<` merges), aliases resolved. */
  get(map: YAMLMap, key: string, depth = 0): Node | undefined {
    const pair = this.ownPair(map, key);
    if (pair) return this.resolve(pair.value);
    if (depth > 10) return undefined;
    for (const source of this.merged(map)) {
      const value = this.get(source, key, depth + 1);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  /** A scalar's value as a string (strings and numbers), else undefined. */
  str(node: Node | undefined): string | undefined {
    if (!isScalar(node)) return undefined;
    const v = node.value;
    return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
  }

  /** The mappings in a sequence (aliases resolved); [] when `node` is not a sequence. */
  mapsOf(node: Node | undefined): YAMLMap[] {
    if (!isSeq(node)) return [];
    return node.items.map((i) => this.resolve(i)).filter((n) => isMap(n));
  }

  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (this.lineStarts[lo] ?? 0) + 1 };
  }

  line(offset: number | undefined): number {
    return this.position(offset ?? 0).line;
  }

  nodeLine(node: Node | undefined | null): number {
    return this.line(node?.range?.[0]);
  }

  /** Line of `key` in `map` (own or merged), else of the mapping itself. */
  keyLine(map: YAMLMap, key: string): number {
    const pair = this.ownPair(map, key);
    if (pair && isScalar(pair.key)) return this.nodeLine(pair.key);
    for (const source of this.merged(map)) {
      if (this.get(source, key) !== undefined) return this.keyLine(source, key);
    }
    return this.nodeLine(map);
  }

  // --- sharing ---------------------------------------------------------------------------------

  private indexDocument(root: Node): void {
    this.parents = new Map();
    this.aliasesOf = new Map();
    const visit = (node: unknown, parent: Node | undefined, depth: number): void => {
      if (node === null || node === undefined || depth > 200) return;
      const n = node as Node;
      if (parent) this.parents.set(n, parent);
      if (isAlias(n)) {
        const target = this.doc ? n.resolve(this.doc) : undefined;
        if (target) {
          const list = this.aliasesOf.get(target) ?? [];
          list.push(n);
          this.aliasesOf.set(target, list);
        }
      } else if (isMap(n)) {
        for (const item of n.items) {
          visit(item.key, n, depth + 1);
          visit(item.value, n, depth + 1);
        }
      } else if (isSeq(n)) {
        for (const item of n.items) visit(item, n, depth + 1);
      }
    };
    visit(root, undefined, 0);
  }

  /** Anchored nodes at or above `node` that are referenced by at least one alias. */
  private sharedAnchors(node: Node): Node[] {
    const found: Node[] = [];
    for (let n: Node | undefined = node; n; n = this.parents.get(n)) {
      if (n.anchor !== undefined && (this.aliasesOf.get(n)?.length ?? 0) > 0) found.push(n);
    }
    return found;
  }

  /** References to `anchored` (its definition and aliases) that no selected target went through. */
  private foreignReferences(anchored: Node): Node[] {
    const refs: Node[] = [anchored, ...(this.aliasesOf.get(anchored) ?? [])];
    return refs.filter((r) => !this.used.has(r));
  }

  /**
   * Whether an edit of (or inside) `node` may be made. Warns and returns false when the text is
   * shared through an anchor with something that is not a data volume of a selected target.
   */
  private mayEdit(node: Node, what: string): boolean {
    if (this.dry) return true;
    const shared = this.sharedAnchors(node);
    for (const anchored of shared) {
      const foreign = this.foreignReferences(anchored);
      if (foreign.length > 0) {
        const uses = foreign
          .map((r) =>
            isAlias(r)
              ? `the alias *${r.source} at line ${this.nodeLine(r)}`
              : `the anchored value itself at line ${this.nodeLine(r)}`,
          )
          .join(' and ');
        const verb = foreign.length > 1 ? 'are' : 'is';
        this.warn(
          this.nodeLine(node),
          `${what}: the text to change is shared through anchor &${anchored.anchor}, and ${uses} ${verb} not the data volume of a selected target; left unchanged (write the value out for this target)`,
        );
        return false;
      }
    }
    for (const anchored of shared) {
      if (this.noticedAnchors.has(anchored)) continue;
      this.noticedAnchors.add(anchored);
      const count = 1 + (this.aliasesOf.get(anchored)?.length ?? 0);
      this.notice(
        this.nodeLine(anchored),
        `anchor &${anchored.anchor} is used in ${count} places, all data volumes being updated: edited once, where it is defined`,
      );
    }
    return true;
  }

  // --- writing ---------------------------------------------------------------------------------

  refOf(map: YAMLMap): MapRef {
    return { node: map, style: this.stringStyle(map) };
  }

  /** The quoting style of the mapping's string values (for values written into it). */
  private stringStyle(map: YAMLMap): ScalarStyle {
    for (const item of map.items) {
      const value = item.value;
      if (isScalar(value) && typeof value.value === 'string') {
        const type = value.type;
        if (type === 'QUOTE_SINGLE' || type === 'QUOTE_DOUBLE' || type === 'PLAIN') return type;
      }
    }
    return 'PLAIN';
  }

  private keyStyle(map: YAMLMap): ScalarStyle {
    const key = map.items[0]?.key;
    if (isScalar(key) && (key.type === 'QUOTE_SINGLE' || key.type === 'QUOTE_DOUBLE')) {
      return key.type;
    }
    return 'PLAIN';
  }

  /**
   * The mapping under `key` to write into, created (as a pending insertion) when missing or
   * empty. Undefined, with a warning, when it cannot be written.
   */
  childMap(parent: MapRef, key: string, what: string): MapRef | undefined {
    if ('created' in parent) {
      const existing = parent.created.entries.find(([k]) => k === key);
      if (existing && 'map' in existing[1]) return { created: existing[1].map };
      const map: NewMap = {
        entries: [],
        style: parent.created.style,
        keyStyle: parent.created.keyStyle,
      };
      parent.created.entries.push([key, { map }]);
      return { created: map };
    }
    const owner = parent.node;
    const pair = this.ownPair(owner, key);
    if (!pair) {
      const inherited = this.get(owner, key);
      if (isMap(inherited)) {
        // `<<` merges are shallow: a local key would drop every merged field, so write into the
        // merged mapping itself (allowed only when all its users are targets, see mayEdit).
        return this.refOf(inherited);
      }
      if (inherited !== undefined) {
        this.warn(this.nodeLine(owner), `${what}: ${key} is not a mapping; left unchanged`);
        return undefined;
      }
      if (!this.mayEdit(owner, what)) return undefined;
      const map: NewMap = { entries: [], style: parent.style, keyStyle: this.keyStyle(owner) };
      this.queue(owner, key, { map });
      return { created: map };
    }
    const value = this.resolve(pair.value);
    if (isMap(value)) return this.refOf(value);
    if (isScalar(value) && value.value === null && value.range && !isAlias(pair.value)) {
      if (!this.mayEdit(value, what)) return undefined;
      const [start, end] = value.range;
      const map: NewMap = { entries: [], style: parent.style, keyStyle: this.keyStyle(owner) };
      if (start === end && !owner.flow) {
        // `key:` with nothing after it: an indented block under the key, after any comment.
        const keyOffset = (pair.key as Node | null)?.range?.[0] ?? start;
        const indent = keyOffset - lineStartOf(this.source, keyOffset) + this.indentStep;
        let at = this.source.indexOf('\n', start);
        if (at === -1) at = this.source.length;
        else if (this.source[at - 1] === '\r') at--;
        this.attachments.push({
          map,
          apply: (m) => {
            const block = this.renderBlock(m, ' '.repeat(indent));
            return {
              start: at,
              end: at,
              text: this.eol + block.slice(0, -this.eol.length),
              depth: indent,
            };
          },
        });
      } else {
        // An explicit null (`ebs: null`, `ebs: ~`), or nothing inside a flow mapping
        // (`{ebs: }`): replaced by a flow mapping.
        const space = this.source[start - 1] === ':' ? ' ' : '';
        this.attachments.push({
          map,
          apply: (m) => ({ start, end, text: `${space}{${this.renderFlow(m)}}`, depth: 0 }),
        });
      }
      return { created: map };
    }
    this.warn(this.nodeLine(pair.key as Node), `${what}: ${key} is not a mapping; left unchanged`);
    return undefined;
  }

  /**
   * Sets `key` to `value`: replaces the scalar in place (same quoting style) or queues an
   * insertion. A key that only comes from a `<<` merge is overridden on the mapping itself.
   * Numbers compare numerically (`'80'` equals 80); strings exactly.
   */
  setScalar(ref: MapRef, key: string, value: string | number, what: string): WriteResult {
    if ('created' in ref) {
      const text = renderScalar(value, typeof value === 'number' ? 'PLAIN' : ref.created.style);
      ref.created.entries = ref.created.entries.filter(([k]) => k !== key);
      ref.created.entries.push([key, { scalar: text }]);
      return { previous: null, changed: true, ok: true };
    }
    const pair = this.ownPair(ref.node, key);
    if (!pair) return this.setAbsentScalar(ref, key, value, what);
    return this.replaceScalar(ref, pair, key, value, what);
  }

  /** `key` is not on the mapping itself (it may come from a `<<` merge): queues it. */
  private setAbsentScalar(
    ref: ExistingMapRef,
    key: string,
    value: string | number,
    what: string,
  ): WriteResult {
    const map = ref.node;
    const inherited = this.get(map, key);
    const previous = this.str(inherited) ?? null;
    if (isScalar(inherited) && sameScalar(inherited.value, value))
      return { previous, changed: false, ok: true };
    if (!this.mayEdit(map, what)) return { previous, changed: false, ok: false };
    if (inherited !== undefined) {
      this.notice(
        this.nodeLine(map),
        `${what}: ${key} comes from a << merge; written on this mapping to override it`,
      );
    }
    const text = renderScalar(value, typeof value === 'number' ? 'PLAIN' : ref.style);
    this.queue(map, key, { scalar: text });
    return { previous, changed: true, ok: true };
  }

  /** `key` is on the mapping: replaces its scalar (or the alias it is) in place. */
  private replaceScalar(
    ref: ExistingMapRef,
    pair: Pair,
    key: string,
    value: string | number,
    what: string,
  ): WriteResult {
    const raw = pair.value as Node | null;
    const target = this.resolve(raw);
    if (!isScalar(target) || !target.range) {
      this.warn(this.nodeLine(pair.key as Node), `${what}: ${key} is not a scalar; left unchanged`);
      return { previous: null, changed: false, ok: false };
    }
    const previous =
      target.value === null || target.value === undefined ? null : String(target.value);
    if (sameScalar(target.value, value)) return { previous, changed: false, ok: true };
    const type = target.type;
    if (type === 'BLOCK_LITERAL' || type === 'BLOCK_FOLDED') {
      this.warn(
        this.nodeLine(target),
        `${what}: ${key} is written as a block scalar; left unchanged (write it as a plain or quoted value)`,
      );
      return { previous, changed: false, ok: false };
    }
    const style: ScalarStyle = type === 'QUOTE_SINGLE' || type === 'QUOTE_DOUBLE' ? type : 'PLAIN';
    if (isAlias(raw) && raw.range) {
      const foreign = this.sharedAnchors(target).some((a) => this.foreignReferences(a).length > 0);
      if (foreign) {
        return this.replaceAlias(
          raw,
          raw.range,
          target,
          key,
          renderScalar(value, style),
          what,
          previous,
        );
      }
    }
    if (!this.mayEdit(target, what)) return { previous, changed: false, ok: false };
    const [start, end] = target.range;
    if (start === end) {
      // `key:` with an empty value.
      const before = this.source[start - 1];
      const after = this.source[start];
      const padBefore = before === ' ' || before === '\t' ? '' : ' ';
      // A comment may follow (`key: # note`): keep it a comment.
      const padAfter =
        after === undefined || after === '\n' || after === '\r' || after === ' ' ? '' : ' ';
      const emptyStyle = typeof value === 'number' ? 'PLAIN' : ref.style;
      const text = padBefore + renderScalar(value, emptyStyle) + padAfter;
      this.edits.push({ start, end, text, depth: 0 });
      return { previous, changed: true, ok: true };
    }
    this.edits.push({ start, end, text: renderScalar(value, style), depth: 0 });
    return { previous, changed: true, ok: true };
  }

  /** The alias's anchor is also used elsewhere: replaces this alias with the value itself. */
  private replaceAlias(
    alias: Alias,
    [start, end]: readonly [number, number, number],
    target: Node,
    key: string,
    text: string,
    what: string,
    previous: string | null,
  ): WriteResult {
    if (!this.mayEdit(alias, what)) return { previous, changed: false, ok: false };
    this.notice(
      this.nodeLine(alias),
      `${what}: ${key} was the alias *${alias.source}, whose anchor (line ${this.nodeLine(target)}) is also used elsewhere; replaced by the value, the anchor is unchanged`,
    );
    this.edits.push({ start, end, text, depth: 0 });
    return { previous, changed: true, ok: true };
  }

  private queue(map: YAMLMap, key: string, value: NewValue): void {
    const entries = (this.pending.get(map) ?? []).filter(([k]) => k !== key);
    entries.push([key, value]);
    this.pending.set(map, entries);
  }

  /** Turns the insertions queued for this document into edits. */
  private flushDocument(): void {
    for (const [map, entries] of this.pending) {
      if (entries.length === 0) continue;
      const newMap: NewMap = { entries, style: 'PLAIN', keyStyle: this.keyStyle(map) };
      const last = map.items[map.items.length - 1];
      if (map.flow) {
        const start = map.range?.[0] ?? 0;
        if (!last) {
          this.edits.push({
            start: start + 1,
            end: start + 1,
            text: this.renderFlow(newMap),
            depth: 0,
          });
        } else {
          const end = this.endOf(last);
          this.edits.push({ start: end, end, text: `, ${this.renderFlow(newMap)}`, depth: 0 });
        }
        continue;
      }
      const firstKey = map.items[0]?.key as Node | null | undefined;
      if (!last || !firstKey?.range) continue;
      const indent = firstKey.range[0] - lineStartOf(this.source, firstKey.range[0]);
      let at = lineEndAfter(this.source, this.endOf(last));
      let text = this.renderBlock(newMap, ' '.repeat(indent));
      if (at === this.source.length && !this.source.endsWith('\n')) {
        const lastKey = (last.key as Node | null)?.range?.[0];
        const lastValue = last.value;
        const keyLineStart = lastKey === undefined ? 0 : lineStartOf(this.source, lastKey);
        if (
          isScalar(lastValue) &&
          (lastValue.type === 'BLOCK_LITERAL' || lastValue.type === 'BLOCK_FOLDED') &&
          lastKey !== undefined &&
          this.source.slice(keyLineStart, lastKey).trim() === ''
        ) {
          // A line break after a block scalar that ends the file would become part of its
          // value: insert before that key instead.
          at = keyLineStart;
        } else {
          text = this.eol + text.slice(0, -this.eol.length);
        }
      }
      this.edits.push({ start: at, end: at, text, depth: indent });
    }
    for (const { map, apply } of this.attachments) {
      if (map.entries.length > 0) this.edits.push(apply(map));
    }
    this.pending = new Map();
    this.attachments = [];
  }

  /** End offset of a pair's text: its value, or its key when the value is empty. */
  private endOf(pair: Pair): number {
    const value = pair.value as Node | null;
    const key = pair.key as Node | null;
    const node = value?.range ? value : key;
    return node?.range?.[1] ?? 0;
  }

  private renderKey(key: string, style: ScalarStyle): string {
    return style === 'PLAIN' ? key : renderScalar(key, style);
  }

  private renderBlock(map: NewMap, indent: string): string {
    let out = '';
    for (const [key, value] of map.entries) {
      const k = this.renderKey(key, map.keyStyle);
      if ('scalar' in value) {
        out += `${indent}${k}: ${value.scalar}${this.eol}`;
      } else {
        out += `${indent}${k}:${this.eol}`;
        out += this.renderBlock(value.map, indent + ' '.repeat(this.indentStep));
      }
    }
    return out;
  }

  private renderFlow(map: NewMap): string {
    return map.entries
      .map(([key, value]) => {
        const k = this.renderKey(key, map.keyStyle);
        return 'scalar' in value
          ? `${k}: ${value.scalar}`
          : `${k}: {${this.renderFlow(value.map)}}`;
      })
      .join(', ');
  }

  /**
   * The document's indentation step: the smallest positive difference between the column of a
   * key and the column of the keys of a block mapping nested under it. 2 when there is none.
   */
  private detectIndentStep(root: YAMLMap): number {
    let best = Infinity;
    const column = (offset: number): number => offset - lineStartOf(this.source, offset);
    const visit = (node: unknown, depth: number): void => {
      if (depth > 200) return;
      if (isMap(node)) {
        for (const item of node.items) {
          const value = item.value;
          const key = item.key as Node | null;
          const inner = isMap(value) && !value.flow ? (value.items[0]?.key as Node | null) : null;
          if (!node.flow && key?.range && inner?.range) {
            const step = column(inner.range[0]) - column(key.range[0]);
            if (step > 0 && step < best) best = step;
          }
          visit(value, depth + 1);
        }
      } else if (isSeq(node)) {
        for (const item of node.items) visit(item, depth + 1);
      }
    };
    visit(root, 0);
    return Number.isFinite(best) ? best : 2;
  }
}
