/**
 * Rewrites one manifest file's text so that its Bottlerocket data volume (`/dev/xvdb`) block
 * device mappings use a given EBS snapshot. See ./index.ts for the contract and ./editor.ts for
 * how the text is edited.
 */
import { isMap, parseAllDocuments, visit } from 'yaml';
import { InputError } from '../../core/errors.js';
import { ManifestEditor, type ParsedDocument } from './editor.js';
import { EKSCTL_API_VERSION, rewriteEksctl } from './eksctl.js';
import { KARPENTER_KINDS, rewriteKarpenter } from './karpenter.js';
import { karpenterVersionHints } from './karpenter-version.js';
import { findTemplateMarker } from './source.js';
import {
  ManifestParseError,
  type KarpenterVersionHint,
  type RewriteOptions,
  type RewriteResult,
} from './types.js';
import { SNAPSHOT_ID } from '../../aws/snapshots.js';

/** EBS volumes are at most 64 TiB. */
const EBS_MAX_GIB = 65536;

/** Checks the options; throws InputError naming the action input the value comes from. */
export function validateRewriteOptions(options: RewriteOptions): void {
  if (!SNAPSHOT_ID.test(options.snapshotId)) {
    throw new InputError(
      'snapshot-id',
      `'${options.snapshotId}' is not an EBS snapshot ID (snap- followed by 8 or 17 hex digits).`,
    );
  }
  const size = options.requiredSizeGiB;
  if (size !== undefined && (!Number.isInteger(size) || size < 1 || size > EBS_MAX_GIB)) {
    throw new InputError(
      'volume-size',
      `${size} is not a volume size in GiB (1 to ${EBS_MAX_GIB}).`,
    );
  }
  const rate = options.volumeInitializationRate;
  if (rate !== undefined && (!Number.isInteger(rate) || rate < 100 || rate > 300)) {
    throw new InputError(
      'volume-initialization-rate',
      `${rate} is not a volume initialization rate: use a whole number of MiB/s from 100 to 300.`,
    );
  }
}

/**
 * Rewrites every eksctl / Karpenter data volume mapping in `source` to use the snapshot.
 * Throws ManifestParseError when the text is not valid YAML, InputError for bad options.
 */
export function rewriteManifest(source: string, options: RewriteOptions): RewriteResult {
  validateRewriteOptions(options);
  const templateLine = findTemplateMarker(source);
  if (templateLine !== undefined) {
    return {
      content: source,
      targets: [],
      warnings: [],
      notices: [],
      missingDataVolumes: [],
      karpenterVersions: [],
      skipped: `contains a template marker '{{' at line ${templateLine} (Helm or Go template), so it is not YAML until rendered; not edited`,
    };
  }

  const ed = new ManifestEditor(source);
  const docs = parseAllDocuments(source, { prettyErrors: false });
  checkParsed(ed, docs);
  const ownVersions = docs.flatMap((doc) => karpenterVersionHints(doc, ed.nodeLine(doc.contents)));
  rewriteDocuments(ed, docs, options, [...(options.karpenterVersions ?? []), ...ownVersions]);

  const content = ed.content();
  if (content !== source) checkStillYaml(content);
  const byLine = (a: { line: number }, b: { line: number }) => a.line - b.line;
  return {
    content,
    targets: [...ed.targets].sort(byLine),
    warnings: [...ed.warnings].sort(byLine),
    notices: [...ed.notices].sort(byLine),
    missingDataVolumes: [...ed.missing].sort(byLine),
    karpenterVersions: ownVersions,
  };
}

type Documents = readonly ParsedDocument[];

/** Throws ManifestParseError for the first parse error, or an alias used before its anchor. */
function checkParsed(ed: ManifestEditor, docs: Documents): void {
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const { line, column } = ed.position(error.pos[0]);
      throw new ManifestParseError(line, column, error.message, error.code);
    }
    // The parser accepts an alias without an earlier anchor; YAML (and kubectl) do not.
    visit(doc, {
      Alias(_key, alias) {
        if (alias.resolve(doc) !== undefined) return;
        const { line, column } = ed.position(alias.range?.[0] ?? 0);
        throw new ManifestParseError(
          line,
          column,
          `Unresolved alias *${alias.source}: the anchor &${alias.source} must be set before the alias`,
          'BAD_ALIAS',
        );
      },
    });
  }
}

/** Edits each eksctl ClusterConfig and Karpenter node class document; other documents are left alone. */
function rewriteDocuments(
  ed: ManifestEditor,
  docs: Documents,
  options: RewriteOptions,
  versions: KarpenterVersionHint[],
): void {
  const names = (options.targets ?? []).map((t) => t.trim()).filter((t) => t !== '');
  const filter = names.length > 0 ? new Set(names) : undefined;
  for (const doc of docs) {
    const root = doc.contents;
    if (!isMap(root)) continue;
    const apiVersion = ed.str(ed.get(root, 'apiVersion'));
    const kind = ed.str(ed.get(root, 'kind'));
    if (apiVersion === undefined || kind === undefined) continue;
    if (apiVersion === EKSCTL_API_VERSION && kind === 'ClusterConfig') {
      ed.processDocument(doc, root, () => rewriteEksctl(ed, root, apiVersion, options, filter));
      continue;
    }
    const karpenter = KARPENTER_KINDS[apiVersion];
    if (karpenter && karpenter.kind === kind) {
      const document = { apiVersion, kindName: kind, kind: karpenter.target, versions };
      ed.processDocument(doc, root, () => rewriteKarpenter(ed, root, document, options, filter));
    }
  }
}

/** A safety net for the text edits: what is written must still be YAML. */
function checkStillYaml(content: string): void {
  const broken = parseAllDocuments(content, { prettyErrors: false })
    .flatMap((doc) => doc.errors)
    .at(0);
  if (broken) {
    throw new Error(
      `Rewriting the manifest produced invalid YAML (${broken.message}); nothing is written. Please report this with the file.`,
    );
  }
}
