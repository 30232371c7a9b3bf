/**
 * Karpenter node classes: `karpenter.k8s.aws/v1` and `/v1beta1` `EC2NodeClass`, `/v1alpha1`
 * `AWSNodeTemplate`. The `spec.blockDeviceMappings[]` entries with `deviceName: /dev/xvdb` get
 * `ebs.snapshotID` (and `ebs.volumeSize`, `ebs.volumeInitializationRate` on v1) set.
 */
import { isMap, type YAMLMap } from 'yaml';
import type { ManifestEditor } from './editor.js';
import { ebsGiBFromQuantity } from './quantity.js';
import type { RewriteOptions, TargetKind, TargetUpdate } from './types.js';

const DATA_DEVICE = '/dev/xvdb';
const ROOT_DEVICE = '/dev/xvda';
const V1 = 'karpenter.k8s.aws/v1';

/** apiVersion -> the kind this module rewrites there. */
export const KARPENTER_KINDS: Readonly<Record<string, { kind: string; target: TargetKind }>> = {
  [V1]: { kind: 'EC2NodeClass', target: 'karpenter-ec2nodeclass' },
  'karpenter.k8s.aws/v1beta1': { kind: 'EC2NodeClass', target: 'karpenter-ec2nodeclass' },
  'karpenter.k8s.aws/v1alpha1': { kind: 'AWSNodeTemplate', target: 'karpenter-awsnodetemplate' },
};

export function rewriteKarpenter(
  ed: ManifestEditor,
  root: YAMLMap,
  apiVersion: string,
  kindName: string,
  kind: TargetKind,
  options: RewriteOptions,
  filter: ReadonlySet<string> | undefined,
): void {
  ed.beginTarget();
  const metadata = ed.get(root, 'metadata');
  const name = (isMap(metadata) ? ed.str(ed.get(metadata, 'name')) : undefined) ?? '';
  const label = `${kindName} '${name}'`;
  const docLine = ed.nodeLine(root);
  const spec = ed.get(root, 'spec');
  const mappings = isMap(spec) ? ed.mapsOf(ed.get(spec, 'blockDeviceMappings')) : [];
  const data = mappings.filter((m) => ed.str(ed.get(m, 'deviceName')) === DATA_DEVICE);
  if (!isMap(spec) || data.length === 0) {
    ed.endTarget(false);
    if (filter?.has(name)) {
      ed.warn(
        docLine,
        `${label} is listed in targets but has no spec.blockDeviceMappings entry for ${DATA_DEVICE}; add one (and one for ${ROOT_DEVICE}) so the snapshot can be set on it`,
      );
    } else {
      ed.notice(
        docLine,
        `${label} has no blockDeviceMappings entry for ${DATA_DEVICE}: not a snapshot target`,
      );
    }
    return;
  }
  if (filter && !filter.has(name)) {
    ed.endTarget(false);
    ed.notice(docLine, `${label} is not listed in targets: left unchanged`);
    return;
  }
  if (data.length > 1) {
    ed.warn(
      ed.keyLine(spec, 'blockDeviceMappings'),
      `${label} has ${data.length} blockDeviceMappings entries for ${DATA_DEVICE}`,
    );
  }
  const rate = options.volumeInitializationRate;
  const rateSupported = apiVersion === V1;
  if (rate !== undefined && !rateSupported) {
    ed.warn(
      ed.keyLine(root, 'apiVersion'),
      `${label}: volumeInitializationRate is not supported by ${apiVersion} (it needs ${V1}); not written`,
    );
  }
  for (const entry of data) {
    const line = ed.keyLine(entry, 'deviceName');
    const ebs = ed.childMap(ed.refOf(entry), 'ebs', label);
    if (!ebs) continue;
    const snapshot = ed.setScalar(ebs, 'snapshotID', options.snapshotId, label);
    if (!snapshot.ok) continue;
    const update: TargetUpdate = {
      kind,
      name,
      apiVersion,
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
    // A missing volumeSize stays missing: EC2 sizes a volume made from a snapshot at the
    // snapshot's size.
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
    if (rate !== undefined && rateSupported) {
      const result = ed.setScalar(ebs, 'volumeInitializationRate', rate, label);
      update.changed ||= result.changed;
    }
    ed.targets.push(update);
  }
  ed.endTarget(true);
  checkNodeClass(ed, spec, mappings, label, docLine);
}

function checkNodeClass(
  ed: ManifestEditor,
  spec: YAMLMap,
  mappings: YAMLMap[],
  label: string,
  docLine: number,
): void {
  if (ed.str(ed.get(spec, 'instanceStorePolicy')) === 'RAID0') {
    ed.warn(
      ed.keyLine(spec, 'instanceStorePolicy'),
      `${label} sets instanceStorePolicy: RAID0: on instance types with NVMe instance storage Bottlerocket mounts that array over /var/lib/containerd, hiding the images cached on ${DATA_DEVICE}`,
    );
  }
  const amiFamily = ed.str(ed.get(spec, 'amiFamily'));
  if (amiFamily !== undefined && amiFamily !== 'Bottlerocket') {
    ed.warn(
      ed.keyLine(spec, 'amiFamily'),
      `${label} has amiFamily ${amiFamily}, not Bottlerocket: the container images cached on ${DATA_DEVICE} will not be used`,
    );
  }
  let aliases = 0;
  for (const term of ed.mapsOf(ed.get(spec, 'amiSelectorTerms'))) {
    const alias = ed.str(ed.get(term, 'alias'));
    if (alias === undefined) continue;
    aliases++;
    if (!alias.toLowerCase().startsWith('bottlerocket@')) {
      ed.warn(
        ed.keyLine(term, 'alias'),
        `${label} selects the AMI alias ${alias}, not bottlerocket@...: the container images cached on ${DATA_DEVICE} will not be used`,
      );
    }
  }
  if (amiFamily === undefined && aliases === 0) {
    ed.warn(
      docLine,
      `${label} sets neither amiFamily nor a bottlerocket@ AMI alias, so it may not run Bottlerocket (AWSNodeTemplate defaults to AL2); set amiFamily: Bottlerocket`,
    );
  }
  if (!mappings.some((m) => ed.str(ed.get(m, 'deviceName')) === ROOT_DEVICE)) {
    ed.warn(
      ed.keyLine(spec, 'blockDeviceMappings'),
      `${label} has no blockDeviceMappings entry for ${ROOT_DEVICE}: a blockDeviceMappings list replaces Karpenter's Bottlerocket defaults, so the OS volume (${ROOT_DEVICE}) must be listed too`,
    );
  }
}
