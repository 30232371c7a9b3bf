/**
 * Karpenter node classes: `karpenter.k8s.aws/v1` and `/v1beta1` `EC2NodeClass`, `/v1alpha1`
 * `AWSNodeTemplate`. The `spec.blockDeviceMappings[]` entries with `deviceName: /dev/xvdb` get
 * `ebs.snapshotID` (and `ebs.volumeSize`, `ebs.volumeInitializationRate` on v1) set.
 */
import { isMap, type YAMLMap } from 'yaml';
import { karpenterAmiVerdict } from './bottlerocket.js';
import type { ManifestEditor } from './editor.js';
import type { KarpenterVersionHint } from './karpenter-version.js';
import { ebsGiBFromQuantity } from './quantity.js';
import { KARPENTER_DEFAULT_DATA_GIB, karpenterSnippet } from './snippets.js';
import type { RewriteOptions, TargetKind, TargetUpdate } from './types.js';
import { DATA_DEVICE, ROOT_DEVICE } from '../../core/bottlerocket.js';

const V1 = 'karpenter.k8s.aws/v1';
const V1ALPHA1 = 'karpenter.k8s.aws/v1alpha1';

/** apiVersion -> the kind this module rewrites there. */
export const KARPENTER_KINDS: Readonly<Record<string, { kind: string; target: TargetKind }>> = {
  [V1]: { kind: 'EC2NodeClass', target: 'karpenter-ec2nodeclass' },
  'karpenter.k8s.aws/v1beta1': { kind: 'EC2NodeClass', target: 'karpenter-ec2nodeclass' },
  [V1ALPHA1]: { kind: 'AWSNodeTemplate', target: 'karpenter-awsnodetemplate' },
};

export interface KarpenterDocument {
  apiVersion: string;
  kindName: string;
  kind: TargetKind;
  /** Hints (this file's and other files') about the Karpenter version deployed. */
  versions: readonly KarpenterVersionHint[];
}

export function rewriteKarpenter(
  ed: ManifestEditor,
  root: YAMLMap,
  document: KarpenterDocument,
  options: RewriteOptions,
  filter: ReadonlySet<string> | undefined,
): void {
  ed.beginTarget();
  const selected = visitNodeClass(ed, root, document, options, filter);
  ed.endTarget(selected);
}

function visitNodeClass(
  ed: ManifestEditor,
  root: YAMLMap,
  document: KarpenterDocument,
  options: RewriteOptions,
  filter: ReadonlySet<string> | undefined,
): boolean {
  const { apiVersion, kindName, kind } = document;
  const metadata = ed.get(root, 'metadata');
  const name = (isMap(metadata) ? ed.str(ed.get(metadata, 'name')) : undefined) ?? '';
  const docLine = ed.nodeLine(root);
  const label =
    name === '' ? `${kindName} without metadata.name (line ${docLine})` : `${kindName} '${name}'`;
  const spec = ed.get(root, 'spec');
  if (!isMap(spec)) return false;
  const mappings = ed.mapsOf(ed.get(spec, 'blockDeviceMappings'));
  const data = mappings.filter((m) => ed.str(ed.get(m, 'deviceName')) === DATA_DEVICE);
  const verdict = amiVerdict(ed, spec, apiVersion);
  const verdictLine = amiLine(ed, spec) ?? docLine;
  const named = filter?.has(name) ?? false;
  if (filter && !named) {
    if (data.length > 0 || verdict.bottlerocket === true) {
      ed.notice(docLine, `${label} is not listed in targets: left unchanged`);
    }
    return false;
  }
  if (data.length === 0) {
    if (verdict.bottlerocket === true) {
      reportMissing(
        ed,
        { label, kind, line: docLine },
        { hasList: mappings.length > 0, named },
        options,
      );
    } else if (named) {
      ed.warn(
        docLine,
        `${label} is listed in targets but has no spec.blockDeviceMappings entry for ${DATA_DEVICE}; add one (and one for ${ROOT_DEVICE}) so the snapshot can be set on it`,
      );
    }
    return false;
  }
  if (verdict.bottlerocket !== true) {
    const what =
      verdict.bottlerocket === false ? 'not Bottlerocket' : 'not known to be Bottlerocket';
    if (!named) {
      ed.warn(
        verdictLine,
        `${label} ${verdict.why}, ${what}: its ${DATA_DEVICE} may not be the container store, so it is left unchanged (name it in update-targets to update it anyway; Karpenter would replace its nodes)`,
        true,
      );
      return false;
    }
    ed.warn(
      verdictLine,
      `${label} ${verdict.why}, ${what}: updated because update-targets names it; the container images cached on ${DATA_DEVICE} are used only by Bottlerocket`,
    );
  }
  if (data.length > 1) {
    ed.warn(
      ed.keyLine(spec, 'blockDeviceMappings'),
      `${label} has ${data.length} blockDeviceMappings entries for ${DATA_DEVICE}`,
    );
  }
  const rate = initializationRate(ed, root, label, apiVersion, document.versions, options);
  for (const entry of data)
    updateMapping(ed, entry, { kind, name, apiVersion, label }, rate, options);
  checkNodeClass(ed, spec, mappings, label);
  return true;
}

/** The rate to write, or undefined (with a warning when one was asked for but cannot be). */
function initializationRate(
  ed: ManifestEditor,
  root: YAMLMap,
  label: string,
  apiVersion: string,
  versions: readonly KarpenterVersionHint[],
  options: RewriteOptions,
): number | undefined {
  const rate = options.volumeInitializationRate;
  if (rate === undefined) return undefined;
  const line = ed.keyLine(root, 'apiVersion');
  if (apiVersion !== V1) {
    ed.warn(
      line,
      `${label}: volumeInitializationRate is not supported by ${apiVersion} (it needs ${V1}); not written`,
    );
    return undefined;
  }
  const older = versions.find((v) => !v.supportsInitializationRate);
  if (older) {
    const where = `${older.file === undefined ? '' : `${older.file}:`}${older.line}`;
    ed.warn(
      line,
      `${label}: volumeInitializationRate not written: ${older.what} at ${where} is a Karpenter older than v1.5.0, whose EC2NodeClass has no such field (the API server would reject the node class)`,
    );
    return undefined;
  }
  if (!versions.some((v) => v.supportsInitializationRate)) {
    ed.notice(
      line,
      `${label}: volumeInitializationRate written; it needs Karpenter v1.5.0 or later (older versions reject the node class as having an unknown field)`,
    );
  }
  return rate;
}

interface Target {
  kind: TargetKind;
  name: string;
  apiVersion: string;
  label: string;
}

function updateMapping(
  ed: ManifestEditor,
  entry: YAMLMap,
  target: Target,
  rate: number | undefined,
  options: RewriteOptions,
): void {
  const { label } = target;
  const line = ed.keyLine(entry, 'deviceName');
  const ebs = ed.childMap(ed.refOf(entry), 'ebs', label);
  if (!ebs) return;
  const snapshot = ed.setScalar(ebs, 'snapshotID', options.snapshotId, label);
  if (!snapshot.ok) return;
  const update: TargetUpdate = {
    kind: target.kind,
    name: target.name,
    apiVersion: target.apiVersion,
    line,
    previousSnapshotId: snapshot.previous,
    snapshotId: options.snapshotId,
    changed: snapshot.changed,
  };
  const written = 'node' in ebs ? ed.str(ed.get(ebs.node, 'volumeSize')) : undefined;
  if (written !== undefined) {
    update.previousSize = written;
    update.size = written;
  }
  const required = options.requiredSizeGiB;
  // Raised when smaller, never lowered. A missing volumeSize stays missing: Karpenter then
  // sends none (launchtemplate.go volumeSize) and EC2 sizes the volume at the snapshot's size.
  if (required !== undefined && written !== undefined) {
    const current = ebsGiBFromQuantity(written);
    if (current === undefined) {
      ed.warn(
        line,
        `${label}: volumeSize '${written}' is not a quantity this action understands (like 80Gi); left unchanged`,
      );
    } else if (current < required) {
      const result = ed.setScalar(ebs, 'volumeSize', `${required}Gi`, label);
      if (result.ok) {
        update.size = `${required}Gi`;
        update.changed ||= result.changed;
      }
    }
  }
  if (rate !== undefined) {
    const result = ed.setScalar(ebs, 'volumeInitializationRate', rate, label);
    update.changed ||= result.changed;
  }
  ed.targets.push(update);
}

function amiVerdict(ed: ManifestEditor, spec: YAMLMap, apiVersion: string) {
  const terms = ed.mapsOf(ed.get(spec, 'amiSelectorTerms'));
  const strings = (values: Array<string | undefined>) =>
    values.filter((v): v is string => v !== undefined);
  const selector = ed.get(spec, 'amiSelector');
  return karpenterAmiVerdict({
    amiFamily: ed.str(ed.get(spec, 'amiFamily')),
    aliases: strings(terms.map((t) => ed.str(ed.get(t, 'alias')))),
    names: strings([
      ...terms.map((t) => ed.str(ed.get(t, 'name'))),
      isMap(selector) ? ed.str(ed.get(selector, 'aws::name')) : undefined,
    ]),
    defaultsToAL2: apiVersion === V1ALPHA1,
  });
}

/** The line that decides the AMI: the first alias, else amiFamily. */
function amiLine(ed: ManifestEditor, spec: YAMLMap): number | undefined {
  const term = ed
    .mapsOf(ed.get(spec, 'amiSelectorTerms'))
    .find((t) => ed.str(ed.get(t, 'alias')) !== undefined);
  if (term) return ed.keyLine(term, 'alias');
  return ed.get(spec, 'amiFamily') !== undefined ? ed.keyLine(spec, 'amiFamily') : undefined;
}

/** A Bottlerocket node class without a /dev/xvdb mapping: say what to add. */
function reportMissing(
  ed: ManifestEditor,
  where: { label: string; kind: TargetKind; line: number },
  { hasList, named }: { hasList: boolean; named: boolean },
  options: RewriteOptions,
): void {
  const dataGiB = Math.max(options.requiredSizeGiB ?? 0, KARPENTER_DEFAULT_DATA_GIB);
  const snippet = karpenterSnippet(options.snapshotId, dataGiB);
  ed.missing.push({ ...where, snippetKind: 'karpenter', dataGiB, snippet });
  const today = hasList
    ? `its blockDeviceMappings has no ${DATA_DEVICE} entry`
    : `it has no blockDeviceMappings, so Karpenter's defaults apply (${DATA_DEVICE} ${KARPENTER_DEFAULT_DATA_GIB}Gi, no snapshot)`;
  const message = `${where.label} runs Bottlerocket but ${today}${named ? ' (it is listed in targets)' : ''}; set spec.blockDeviceMappings to both mappings (a list replaces Karpenter's defaults):\n${snippet}`;
  if (named) ed.warn(where.line, message);
  else ed.notice(where.line, message);
}

function checkNodeClass(
  ed: ManifestEditor,
  spec: YAMLMap,
  mappings: YAMLMap[],
  label: string,
): void {
  if (ed.str(ed.get(spec, 'instanceStorePolicy')) === 'RAID0') {
    ed.warn(
      ed.keyLine(spec, 'instanceStorePolicy'),
      `${label} sets instanceStorePolicy: RAID0: on instance types with NVMe instance storage Bottlerocket mounts that array over /var/lib/containerd, hiding the images cached on ${DATA_DEVICE}`,
    );
  }
  if (!mappings.some((m) => ed.str(ed.get(m, 'deviceName')) === ROOT_DEVICE)) {
    ed.warn(
      ed.keyLine(spec, 'blockDeviceMappings'),
      `${label} has no blockDeviceMappings entry for ${ROOT_DEVICE}: a blockDeviceMappings list replaces Karpenter's Bottlerocket defaults, so the OS volume (${ROOT_DEVICE}) must be listed too`,
    );
  }
}
