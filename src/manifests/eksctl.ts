/**
 * eksctl `ClusterConfig` (eksctl.io/v1alpha5): node groups whose `additionalVolumes[]` has an
 * entry with `volumeName: /dev/xvdb` get that entry's `snapshotID` (and `volumeSize`) set.
 */
import type { YAMLMap } from 'yaml';
import { isMap, isSeq } from 'yaml';
import type { ManifestEditor } from './editor.js';
import type { RewriteOptions, TargetKind, TargetUpdate } from './types.js';

export const EKSCTL_API_VERSION = 'eksctl.io/v1alpha5';
const DATA_DEVICE = '/dev/xvdb';
const ROOT_DEVICE = '/dev/xvda';

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
      if (!isMap(group)) {
        ed.endTarget(false);
        return;
      }
      const name = ed.str(ed.get(group, 'name')) ?? `${listKey}[${index}]`;
      const label = `${what} '${name}'`;
      const groupLine = ed.nodeLine(group);
      const volumes = ed.mapsOf(ed.get(group, 'additionalVolumes'));
      const data = volumes.filter((v) => ed.str(ed.get(v, 'volumeName')) === DATA_DEVICE);
      if (data.length === 0) {
        ed.endTarget(false);
        if (filter?.has(name)) {
          ed.warn(
            groupLine,
            `${label} is listed in targets but has no additionalVolumes entry with volumeName ${DATA_DEVICE}; add one (and volumeName ${ROOT_DEVICE} for the OS volume) so the snapshot can be set on it`,
          );
        } else {
          ed.notice(
            groupLine,
            `${label} has no additionalVolumes entry for ${DATA_DEVICE}: not a snapshot target`,
          );
        }
        return;
      }
      if (filter && !filter.has(name)) {
        ed.endTarget(false);
        ed.notice(groupLine, `${label} is not listed in targets: left unchanged`);
        return;
      }
      found++;
      if (data.length > 1) {
        ed.warn(
          groupLine,
          `${label} has ${data.length} additionalVolumes entries for ${DATA_DEVICE}; eksctl maps a device once`,
        );
      }
      for (const entry of data) updateVolume(ed, entry, { kind, name, apiVersion, label }, options);
      ed.endTarget(true);
      checkGroup(ed, group, label, volumes);
    });
  }
  if (found > 0 && options.volumeInitializationRate !== undefined) {
    ed.notice(
      ed.nodeLine(root),
      'eksctl ClusterConfig has no field for an EBS volume initialization rate: not written for eksctl node groups',
    );
  }
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
    if (written === undefined) {
      // No volumeSize on the entry: write one. With a snapshot and no size EC2 would use the
      // snapshot's size, but eksctl may fill in a default of its own for the volume, which can
      // be smaller than the snapshot (EC2 then rejects the launch); an explicit size is clear.
      const result = ed.setScalar(ref, 'volumeSize', required, target.label);
      if (result.ok) {
        update.size = String(required);
        update.changed ||= result.changed;
      }
    } else if (!/^\d+$/.test(written.trim())) {
      ed.warn(
        ed.keyLine(entry, 'volumeSize'),
        `${target.label}: volumeSize '${written}' is not a whole number of GiB; left unchanged`,
      );
    } else if (Number(written) < required) {
      const result = ed.setScalar(ref, 'volumeSize', required, target.label);
      if (result.ok) {
        update.size = String(required);
        update.changed ||= result.changed;
      }
    }
  }
  ed.targets.push(update);
}

function checkGroup(ed: ManifestEditor, group: YAMLMap, label: string, volumes: YAMLMap[]): void {
  if (ed.get(group, 'launchTemplate') !== undefined) {
    ed.warn(
      ed.keyLine(group, 'launchTemplate'),
      `${label} uses its own launchTemplate: eksctl ignores its volume settings (additionalVolumes included), so the snapshot has to be set in that launch template`,
    );
  }
  const amiFamily = ed.str(ed.get(group, 'amiFamily'));
  if (amiFamily === undefined) {
    ed.warn(
      ed.nodeLine(group),
      `${label} sets no amiFamily, so eksctl uses its Amazon Linux default; only Bottlerocket keeps container images on ${DATA_DEVICE}: set amiFamily: Bottlerocket`,
    );
    return;
  }
  if (amiFamily !== 'Bottlerocket') {
    ed.warn(
      ed.keyLine(group, 'amiFamily'),
      `${label} has amiFamily ${amiFamily}, not Bottlerocket: the container images cached on ${DATA_DEVICE} will not be used`,
    );
    return;
  }
  const groupVolumeName = ed.str(ed.get(group, 'volumeName'));
  const rootEntry = volumes.some((v) => ed.str(ed.get(v, 'volumeName')) === ROOT_DEVICE);
  if (groupVolumeName !== ROOT_DEVICE && !rootEntry) {
    ed.warn(
      ed.nodeLine(group),
      `${label} is Bottlerocket without a volumeName: ${ROOT_DEVICE} override: eksctl then uses the group's own volume as ${DATA_DEVICE} and would map ${DATA_DEVICE} twice; set volumeName: ${ROOT_DEVICE} on the group or add an additionalVolumes entry for ${ROOT_DEVICE}`,
    );
  }
}
