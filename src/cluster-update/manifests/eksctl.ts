/**
 * eksctl `ClusterConfig` (eksctl.io/v1alpha5): node groups whose `additionalVolumes[]` has an
 * entry with `volumeName: /dev/xvdb` get that entry's `snapshotID` (and `volumeSize`) set.
 */
import type { YAMLMap } from 'yaml';
import { isMap, isSeq } from 'yaml';
import { isEksctlBottlerocket } from './bottlerocket.js';
import type { ManifestEditor } from './editor.js';
import { EKSCTL_DEFAULT_VOLUME_GIB, eksctlSnippet } from './snippets.js';
import type { RewriteOptions, TargetKind, TargetUpdate } from './types.js';
import { DATA_DEVICE, ROOT_DEVICE } from '../../core/bottlerocket.js';

export const EKSCTL_API_VERSION = 'eksctl.io/v1alpha5';

const LISTS: ReadonlyArray<[string, TargetKind, string]> = [
  ['managedNodeGroups', 'eksctl-managed-nodegroup', 'eksctl managed node group'],
  ['nodeGroups', 'eksctl-nodegroup', 'eksctl node group'],
];

export function rewriteEksctl(
  ed: ManifestEditor,
  root: YAMLMap,
  apiVersion: string,
  options: RewriteOptions,
  filter: ReadonlySet<string> | undefined,
): void {
  let found = 0;
  for (const [listKey, kind, what] of LISTS) {
    const list = ed.get(root, listKey);
    if (!isSeq(list)) continue;
    list.items.forEach((item, index) => {
      ed.beginTarget();
      const group = ed.resolve(item);
      const selected = isMap(group)
        ? visitGroup(ed, group, { listKey, kind, what, index, apiVersion }, options, filter)
        : false;
      ed.endTarget(selected);
      if (selected) found++;
    });
  }
  if (found > 0 && options.volumeInitializationRate !== undefined) {
    ed.notice(
      ed.nodeLine(root),
      'eksctl ClusterConfig has no field for an EBS volume initialization rate: not written for eksctl node groups',
    );
  }
}

interface GroupPlace {
  listKey: string;
  kind: TargetKind;
  what: string;
  index: number;
  apiVersion: string;
}

/** One node group: updates its data volume entries; returns whether it is a selected target. */
function visitGroup(
  ed: ManifestEditor,
  group: YAMLMap,
  place: GroupPlace,
  options: RewriteOptions,
  filter: ReadonlySet<string> | undefined,
): boolean {
  const name = ed.str(ed.get(group, 'name')) ?? `${place.listKey}[${place.index}]`;
  const label = `${place.what} '${name}'`;
  const groupLine = ed.nodeLine(group);
  const amiFamily = ed.str(ed.get(group, 'amiFamily'));
  const bottlerocket = isEksctlBottlerocket(amiFamily);
  const volumes = ed.mapsOf(ed.get(group, 'additionalVolumes'));
  const data = volumes.filter((v) => ed.str(ed.get(v, 'volumeName')) === DATA_DEVICE);
  const named = filter?.has(name) ?? false;
  if (filter && !named) {
    if (data.length > 0 || bottlerocket) {
      ed.notice(groupLine, `${label} is not listed in targets: left unchanged`);
    }
    return false;
  }
  if (data.length === 0) {
    if (bottlerocket && ed.get(group, 'launchTemplate') === undefined) {
      reportMissing(ed, group, { label, kind: place.kind, line: groupLine }, named, options);
    } else if (named) {
      ed.warn(
        groupLine,
        `${label} is listed in targets but has no additionalVolumes entry with volumeName ${DATA_DEVICE}; add one (and volumeName ${ROOT_DEVICE} on the group for the OS volume) so the snapshot can be set on it`,
      );
    }
    return false;
  }
  if (!bottlerocket) {
    const why =
      amiFamily === undefined
        ? `sets no amiFamily, so eksctl uses its default (AmazonLinux2023)`
        : `has amiFamily ${amiFamily}`;
    const line = amiFamily === undefined ? groupLine : ed.keyLine(group, 'amiFamily');
    if (!named) {
      ed.warn(
        line,
        `${label} ${why}, not Bottlerocket: its ${DATA_DEVICE} is not the container store, so it is left unchanged (name it in update-targets to update it anyway)`,
        true,
      );
      return false;
    }
    ed.warn(
      line,
      `${label} ${why}, not Bottlerocket: updated because update-targets names it, but the container images cached on ${DATA_DEVICE} will not be used`,
    );
  }
  if (data.length > 1) {
    ed.warn(
      groupLine,
      `${label} has ${data.length} additionalVolumes entries for ${DATA_DEVICE}; eksctl maps a device once`,
    );
  }
  const target = { kind: place.kind, name, apiVersion: place.apiVersion, label };
  for (const entry of data) updateVolume(ed, entry, target, options);
  checkGroup(ed, group, label, volumes, bottlerocket);
  return true;
}

/** A Bottlerocket group whose data volume is its own volume: say what to add. */
function reportMissing(
  ed: ManifestEditor,
  group: YAMLMap,
  where: { label: string; kind: TargetKind; line: number },
  named: boolean,
  options: RewriteOptions,
): void {
  const own = ed.str(ed.get(group, 'volumeSize'));
  const ownGiB = own !== undefined && /^\d+$/.test(own.trim()) ? Number(own) : 0;
  const groupVolumeName = ed.str(ed.get(group, 'volumeName'));
  // Without volumeName eksctl makes the group's own volume the Bottlerocket data volume
  // (defaults.go setVolumeDefaults), sized volumeSize or DefaultNodeVolumeSize.
  const today = groupVolumeName === ROOT_DEVICE ? 0 : ownGiB || EKSCTL_DEFAULT_VOLUME_GIB;
  const dataGiB = Math.max(today, options.requiredSizeGiB ?? 0, EKSCTL_DEFAULT_VOLUME_GIB);
  const snippet = eksctlSnippet(options.snapshotId, dataGiB, {
    ...(groupVolumeName !== undefined ? { volumeName: groupVolumeName } : {}),
    ...(own !== undefined ? { volumeSize: own } : {}),
  });
  ed.missing.push({ ...where, snippetKind: 'eksctl', dataGiB, snippet });
  const message = `${where.label} is Bottlerocket but has no additionalVolumes entry for ${DATA_DEVICE}, so the snapshot cannot be set on its data volume${named ? ' (it is listed in targets)' : ''}; add to the group:\n${snippet}`;
  if (named) ed.warn(where.line, message);
  else ed.notice(where.line, message);
}

interface Target {
  kind: TargetKind;
  name: string;
  apiVersion: string;
  label: string;
}

function updateVolume(
  ed: ManifestEditor,
  entry: YAMLMap,
  target: Target,
  options: RewriteOptions,
): void {
  const ref = ed.refOf(entry);
  const snapshot = ed.setScalar(ref, 'snapshotID', options.snapshotId, target.label);
  if (!snapshot.ok) return;
  const update: TargetUpdate = {
    kind: target.kind,
    name: target.name,
    apiVersion: target.apiVersion,
    line: ed.keyLine(entry, 'volumeName'),
    previousSnapshotId: snapshot.previous,
    snapshotId: options.snapshotId,
    changed: snapshot.changed,
  };
  const written = ed.str(ed.get(entry, 'volumeSize'));
  if (written !== undefined) {
    update.previousSize = written;
    update.size = written;
  }
  const required = options.requiredSizeGiB;
  if (required !== undefined) {
    // Never smaller than today: without volumeSize eksctl gives the entry
    // DefaultNodeVolumeSize (80 GiB), so a size is written only when the snapshot needs more.
    const today = written === undefined ? EKSCTL_DEFAULT_VOLUME_GIB : undefined;
    if (written !== undefined && !/^\d+$/.test(written.trim())) {
      ed.warn(
        ed.keyLine(entry, 'volumeSize'),
        `${target.label}: volumeSize '${written}' is not a whole number of GiB; left unchanged`,
      );
    } else if ((today ?? Number(written)) < required) {
      const result = ed.setScalar(ref, 'volumeSize', required, target.label);
      if (result.ok) {
        update.size = String(required);
        update.changed ||= result.changed;
      }
    }
  }
  ed.targets.push(update);
}

function checkGroup(
  ed: ManifestEditor,
  group: YAMLMap,
  label: string,
  volumes: YAMLMap[],
  bottlerocket: boolean,
): void {
  if (ed.get(group, 'launchTemplate') !== undefined) {
    ed.warn(
      ed.keyLine(group, 'launchTemplate'),
      `${label} uses its own launchTemplate: eksctl ignores its volume settings (additionalVolumes included), so the snapshot has to be set in that launch template`,
    );
  }
  if (!bottlerocket) return;
  const groupVolumeName = ed.str(ed.get(group, 'volumeName'));
  const rootEntry = volumes.some((v) => ed.str(ed.get(v, 'volumeName')) === ROOT_DEVICE);
  if (groupVolumeName !== ROOT_DEVICE && !rootEntry) {
    ed.warn(
      ed.nodeLine(group),
      `${label} is Bottlerocket without a volumeName: ${ROOT_DEVICE} override: eksctl then uses the group's own volume as ${DATA_DEVICE} and would map ${DATA_DEVICE} twice; set volumeName: ${ROOT_DEVICE} on the group or add an additionalVolumes entry for ${ROOT_DEVICE}`,
    );
  }
}
