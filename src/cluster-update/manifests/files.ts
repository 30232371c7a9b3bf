/**
 * Applies {@link rewriteManifest} to the workspace files matched by glob patterns.
 * See ./index.ts for the contract.
 */
import { readFile, realpath, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { isMap, parseAllDocuments, Parser, visit } from 'yaml';
import { ActionError, InputError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { rewriteManifest } from './rewrite.js';
import {
  ManifestParseError,
  type KarpenterVersionHint,
  type ManifestFinding,
  type MissingDataVolume,
  type RewriteOptions,
  type RewriteResult,
  type TargetUpdate,
} from './types.js';

export interface FileUpdate {
  /** Relative to the workspace, `/`-separated. */
  path: string;
  targets: TargetUpdate[];
  /** Whether `content` differs from `original`. */
  changed: boolean;
  content: string;
  original: string;
  warnings: ManifestFinding[];
  notices: ManifestFinding[];
  /** Bottlerocket groups / node classes without a /dev/xvdb entry, with what to add. */
  missingDataVolumes: MissingDataVolume[];
}

export interface UpdateFilesResult {
  /** Every matched file that was parsed, changed or not. */
  files: FileUpdate[];
  /** Every matched file, skipped ones included. */
  lookedAt: string[];
  skipped: Array<{ path: string; reason: string }>;
  /**
   * Every snapshot ID written anywhere in the matched files that could be read (before and
   * after the rewrite, in any document, selected target or not, templated files included):
   * what retention must never delete.
   */
  referencedSnapshotIds: string[];
  /**
   * The options the files were rewritten with: the given ones plus what the files say about
   * the Karpenter version (`karpenterVersions`). Rewriting another copy of a file the same way
   * needs these.
   */
  options: RewriteOptions;
  /** Warnings about the run as a whole (names in `targets` that matched nothing). */
  warnings: string[];
}

/** EBS snapshot IDs: snap- and 8 or 17 hex digits. */
const SNAPSHOT_ID = /\bsnap-(?:[0-9a-f]{17}|[0-9a-f]{8})\b/g;

function snapshotIdsIn(text: string): string[] {
  return text.match(SNAPSHOT_ID) ?? [];
}

export interface UpdateFilesParams {
  /** Absolute path of the repository checkout. */
  workspace: string;
  /** Glob patterns relative to the workspace; `!pattern` excludes. */
  patterns: string[];
  options: RewriteOptions;
  /** Write changed files back. When false, nothing on disk changes. */
  write: boolean;
  logger: Logger;
  /** A matched file larger than this (bytes) fails the update unread (default 4 MiB). */
  maxFileBytes?: number;
}

/** Manifests are small: the default limit of input update-files-max-size, in MiB. */
export const DEFAULT_MAX_FILE_MIB = 4;
/** All matched files together may be this many times update-files-max-size (memory bound). */
export const MAX_FILES_AT_LIMIT = 4;

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Most YAML documents one manifest file may hold (counted by the yaml tokenizer, stopping early). */
export const MAX_DOCUMENTS = 1000;
/** The yaml library's own bound on alias expansions per document (its default, 100). */
export const MAX_ALIAS_COUNT = 100;
/**
 * Most keys in one YAML mapping. The yaml parser checks each key of a mapping against every
 * other (uniqueKeys): time grows with the square of the keys (40,000 keys: 5 s).
 */
export const MAX_MAPPING_KEYS = 1000;

/**
 * Refuses text whose parsing alone would cost more than any manifest should, before the
 * rewrite parses it: more than MAX_DOCUMENTS documents, a mapping of more than
 * MAX_MAPPING_KEYS keys, aliases that expand beyond yaml's maxAliasCount ("billion laughs",
 * or one alias repeated so often that following each would take quadratic time). This look
 * takes time in proportion to the text (uniqueKeys off). Syntax errors and duplicate keys
 * are left to the rewrite, which reports them with line and column.
 */
function checkYamlBounds(text: string, rel: string): void {
  const refuse = (what: string, cause?: unknown) =>
    new ActionError(`${rel}: ${what}: not edited. No file was changed.`, { cause });
  let documents = 0;
  for (const token of new Parser().parse(text)) {
    if (token.type === 'document' && ++documents > MAX_DOCUMENTS) {
      throw refuse(`more than ${MAX_DOCUMENTS} YAML documents, more than a manifest holds`);
    }
  }
  for (const doc of parseAllDocuments(text, { prettyErrors: false, uniqueKeys: false })) {
    if (doc.errors.length > 0) return;
    visit(doc, {
      Map(_key, map) {
        if (isMap(map) && map.items.length > MAX_MAPPING_KEYS) {
          throw refuse(
            `a mapping of ${map.items.length} keys, more than the ${MAX_MAPPING_KEYS} a manifest has`,
          );
        }
      },
    });
    try {
      doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      if (error instanceof ReferenceError && /Excessive alias count/.test(error.message)) {
        throw refuse(
          `its YAML aliases expand beyond the yaml library's limit (maxAliasCount ${MAX_ALIAS_COUNT})`,
          error,
        );
      }
      // Anything else (an alias before its anchor) the rewrite reports with line and column.
      return;
    }
  }
}

const INPUT = 'update-files';

/** Throws InputError for patterns that could reach outside the workspace. */
export function checkPatterns(patterns: readonly string[]): string[] {
  const cleaned = patterns.map((p) => p.trim()).filter((p) => p !== '' && !p.startsWith('#'));
  if (cleaned.length === 0) {
    throw new InputError(INPUT, 'no file pattern given.');
  }
  for (const pattern of cleaned) {
    const body = pattern.startsWith('!') ? pattern.slice(1) : pattern;
    if (
      body.startsWith('/') ||
      body.startsWith('\\') ||
      /^[A-Za-z]:/.test(body) ||
      body.startsWith('~')
    ) {
      throw new InputError(
        INPUT,
        `'${pattern}' is an absolute path; patterns are relative to the repository root.`,
      );
    }
    if (body.split(/[\\/]/).includes('..')) {
      throw new InputError(
        INPUT,
        `'${pattern}' contains a '..' segment; patterns must stay inside the repository.`,
      );
    }
  }
  return cleaned;
}

function rewriteFile(rel: string, original: string, options: RewriteOptions): RewriteResult {
  try {
    return rewriteManifest(original, options);
  } catch (error) {
    if (error instanceof ManifestParseError) {
      throw new ActionError(
        `${rel}:${error.line}:${error.column}: not valid YAML: ${error.message}. No file was changed.`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** The "nothing was updated" error: the files looked at, and what to add where. */
function nothingUpdated(
  matched: readonly string[],
  skipped: ReadonlyArray<{ path: string; reason: string }>,
  files: readonly FileUpdate[],
  wanted: readonly string[],
): ActionError {
  const reasons = new Map(skipped.map((s) => [s.path, s.reason]));
  const list = matched
    .map((p) => {
      const reason = reasons.get(p);
      return reason === undefined ? `  - ${p}` : `  - ${p} (skipped: ${reason})`;
    })
    .join('\n');
  const filtered = wanted.length > 0 ? ` named in targets (${wanted.join(', ')})` : '';
  const lines = [
    `Nothing was updated: no eksctl node group (additionalVolumes entry with volumeName /dev/xvdb) or Karpenter EC2NodeClass/AWSNodeTemplate (blockDeviceMappings entry with deviceName /dev/xvdb)${filtered} was found in the files looked at:\n${list}`,
  ];
  const missing = files.flatMap((f) => f.missingDataVolumes.map((m) => ({ path: f.path, m })));
  for (const { path: file, m } of missing) {
    const where =
      m.snippetKind === 'eksctl' ? 'add to the node group' : 'set in spec (both mappings)';
    lines.push(
      `${file}:${m.line}: ${m.label} runs Bottlerocket but has no /dev/xvdb entry; ${where}:\n${indent(m.snippet)}`,
    );
  }
  const notBottlerocket = files.flatMap((f) =>
    f.warnings.filter((w) => w.notBottlerocket).map((w) => `${f.path}:${w.line}: ${w.message}`),
  );
  if (notBottlerocket.length > 0) lines.push(...notBottlerocket);
  return new ActionError(lines.join('\n'));
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

/** Every Karpenter version hint in the rewritten files, with the file it is in. */
function versionHints(files: ReadonlyArray<{ path: string; result: RewriteResult }>) {
  return files.flatMap(({ path: file, result }) =>
    result.karpenterVersions.map((h): KarpenterVersionHint => ({ ...h, file })),
  );
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** A matched file read and rewritten in memory. */
interface ReadFile {
  path: string;
  original: string;
  result: RewriteResult;
}

/** What reading the matched files found, in the order they were matched. */
interface ReadState {
  read: ReadFile[];
  skipped: Array<{ path: string; reason: string }>;
  referenced: Set<string>;
}

/**
 * Rewrites every matched manifest. All files are read and rewritten in memory first; a parse
 * error in any of them throws before anything is written. Throws ActionError when no file
 * matched or no file holds a data volume target.
 */
export async function updateManifestFiles(params: UpdateFilesParams): Promise<UpdateFilesResult> {
  const { workspace, options, write, logger } = params;
  const patterns = checkPatterns(params.patterns);
  const root = await realpath(workspace);
  const matched = await matchFiles(root, patterns, workspace);
  const maxBytes = params.maxFileBytes ?? DEFAULT_MAX_FILE_MIB * 1024 * 1024;
  const state = await readMatched(root, matched, options, maxBytes);
  const { used, files } = rewriteWithVersionHints(state, options);
  const { skipped, referenced } = state;

  logFindings(files, skipped, logger);
  const wanted = (options.targets ?? []).map((t) => t.trim()).filter((t) => t !== '');
  const warnings = unmatchedTargets(wanted, files);
  for (const warning of warnings) logger.warning(warning);

  const targetCount = files.reduce((n, f) => n + f.targets.length, 0);
  if (targetCount === 0) throw nothingUpdated(matched, skipped, files, wanted);

  if (write) {
    for (const file of files) {
      if (file.changed) await writeFile(path.join(root, file.path), file.content, 'utf8');
    }
  }

  return {
    files,
    lookedAt: matched,
    skipped,
    referencedSnapshotIds: [...referenced].sort(),
    options: used,
    warnings,
  };
}

/** The workspace files the patterns match, `/`-separated and sorted; throws when there are none. */
async function matchFiles(root: string, patterns: string[], workspace: string): Promise<string[]> {
  const matched = (
    await glob(patterns, {
      cwd: root,
      dot: false,
      onlyFiles: true,
      expandDirectories: false,
      ignore: ['**/node_modules/**'],
    })
  )
    .map((p) => p.split(path.sep).join('/'))
    .sort();

  if (matched.length === 0) {
    throw new ActionError(
      `Nothing was updated: no file matched update-files (${patterns.join(', ')}) in ${workspace}.`,
    );
  }
  return matched;
}

/**
 * Reads and rewrites each matched file once (a link inside the workspace as the file it points
 * to), skipping what must not be edited and refusing files over the size limits.
 */
async function readMatched(
  root: string,
  matched: string[],
  options: RewriteOptions,
  maxBytes: number,
): Promise<ReadState> {
  const state: ReadState = { read: [], skipped: [], referenced: new Set<string>() };
  const seen = new Set<string>();
  let total = 0;
  for (const matchedRel of matched) {
    const real = await realpath(path.join(root, matchedRel));
    if (!isInside(root, real)) {
      state.skipped.push({
        path: matchedRel,
        reason: 'it is a link to a file outside the workspace',
      });
      continue;
    }
    // A link inside the workspace is edited (and committed) as the file it points to, once:
    // a pull request cannot replace a symbolic link with a file.
    const rel = path.relative(root, real).split(path.sep).join('/');
    if (seen.has(rel) || (rel !== matchedRel && matched.includes(rel))) {
      if (rel !== matchedRel) {
        state.skipped.push({
          path: matchedRel,
          reason: `it is a link to ${rel}, which is updated itself`,
        });
      }
      continue;
    }
    seen.add(rel);
    const absolute = path.join(root, rel);
    const { size, nlink } = await stat(absolute);
    total += size;
    checkSize(rel, size, total, maxBytes);
    if (nlink > 1) {
      // Git checkouts never make hard links; one could be the same file as one outside the workspace.
      state.skipped.push({
        path: rel,
        reason: `it has ${nlink} hard links, one may be outside the workspace`,
      });
      continue;
    }
    const entry = await readOne(rel, absolute, options, state);
    if (entry) state.read.push(entry);
  }
  return state;
}

/** Throws when one file, or all read so far (`total`), are over the limits. */
function checkSize(rel: string, size: number, total: number, maxBytes: number): void {
  if (size > maxBytes) {
    throw new ActionError(
      `${rel} is ${mib(size)}, over the ${mib(maxBytes)} a manifest may be (input 'update-files-max-size'): not read. No file was changed.`,
    );
  }
  if (total > maxBytes * MAX_FILES_AT_LIMIT) {
    throw new ActionError(
      `The files update-files matches add up to more than ${mib(maxBytes * MAX_FILES_AT_LIMIT)} (${MAX_FILES_AT_LIMIT} times 'update-files-max-size') by ${rel}: not read. No file was changed.`,
    );
  }
}

/** Reads one file and rewrites it in memory; undefined (and a skip) when it is not UTF-8. */
async function readOne(
  rel: string,
  absolute: string,
  options: RewriteOptions,
  state: ReadState,
): Promise<ReadFile | undefined> {
  const bytes = await readFile(absolute);
  const original = bytes.toString('utf8');
  if (!Buffer.from(original, 'utf8').equals(bytes)) {
    state.skipped.push({ path: rel, reason: 'it is not valid UTF-8 text' });
    return undefined;
  }
  for (const id of snapshotIdsIn(original)) state.referenced.add(id);
  checkYamlBounds(original, rel);
  return { path: rel, original, result: rewriteFile(rel, original, options) };
}

/**
 * The files as rewritten: a Karpenter version shown in one file (a chart, the CRD) matters for
 * the node classes in all, so they are rewritten again knowing it when a volume initialization
 * rate is asked for. Adds templated files to the skips and the IDs written to the referenced.
 */
function rewriteWithVersionHints(
  state: ReadState,
  options: RewriteOptions,
): { used: RewriteOptions; files: FileUpdate[] } {
  const hints = versionHints(state.read);
  const used: RewriteOptions =
    hints.length > 0 && options.volumeInitializationRate !== undefined
      ? { ...options, karpenterVersions: [...(options.karpenterVersions ?? []), ...hints] }
      : options;
  const files: FileUpdate[] = [];
  for (const entry of state.read) {
    const result = used === options ? entry.result : rewriteFile(entry.path, entry.original, used);
    if (result.skipped !== undefined) {
      state.skipped.push({ path: entry.path, reason: result.skipped });
      continue;
    }
    for (const id of snapshotIdsIn(result.content)) state.referenced.add(id);
    files.push({
      path: entry.path,
      targets: result.targets,
      changed: result.content !== entry.original,
      content: result.content,
      original: entry.original,
      warnings: result.warnings,
      notices: result.notices,
      missingDataVolumes: result.missingDataVolumes,
    });
  }
  return { used, files };
}

/** Each file's warnings, notices and targets, then the skipped files, to the log. */
function logFindings(
  files: readonly FileUpdate[],
  skipped: ReadonlyArray<{ path: string; reason: string }>,
  logger: Logger,
): void {
  for (const file of files) {
    for (const finding of file.warnings) {
      logger.warning(finding.message, { file: file.path, startLine: finding.line });
    }
    for (const finding of file.notices) {
      logger.info(`${file.path}:${finding.line}: ${finding.message}`);
    }
    for (const target of file.targets) {
      const size =
        target.size !== undefined && target.size !== target.previousSize
          ? `, size ${target.previousSize ?? '(unset)'} -> ${target.size}`
          : '';
      logger.info(
        `${file.path}:${target.line}: ${target.kind} ${target.name === '' ? '(no name)' : `'${target.name}'`}: snapshotID ${target.previousSnapshotId ?? '(unset)'} -> ${target.snapshotId}${size}${target.changed ? '' : ' (already up to date)'}`,
      );
    }
  }
  for (const skip of skipped) {
    logger.notice(`${skip.path} skipped: ${skip.reason}`, { file: skip.path });
  }
}

/** A warning for each name in `targets` that no updated target has. */
function unmatchedTargets(wanted: readonly string[], files: readonly FileUpdate[]): string[] {
  const updatedNames = new Set(files.flatMap((f) => f.targets.map((t) => t.name)));
  return wanted
    .filter((name) => !updatedNames.has(name))
    .map(
      (name) =>
        `targets lists '${name}', but no eksctl node group or Karpenter node class of that name with a /dev/xvdb data volume was found in the matched files`,
    );
}
