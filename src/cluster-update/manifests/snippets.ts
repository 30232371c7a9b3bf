/**
 * The YAML a user adds to put the snapshot on a node group's or node class's data volume, and
 * the defaults a data volume has when no size is written. One source for the rewriter's
 * messages, the "nothing was updated" error and the job summary.
 */

/**
 * eksctl's `DefaultNodeVolumeSize` (GiB): the size of an `additionalVolumes` entry, and of a
 * group's own volume, without `volumeSize` (eksctl-io/eksctl pkg/apis/eksctl.io/v1alpha5
 * types.go; applied in defaults.go `setDefaultsForAdditionalVolumes` / `setVolumeDefaults`).
 */
export const EKSCTL_DEFAULT_VOLUME_GIB = 80;

/**
 * Karpenter's Bottlerocket default mappings when a node class lists none: `/dev/xvda` 4Gi and
 * `/dev/xvdb` 20Gi, gp3, encrypted (aws/karpenter-provider-aws pkg/providers/amifamily
 * bottlerocket.go `DefaultBlockDeviceMappings`, resolver.go `DefaultEBS`).
 */
export const KARPENTER_DEFAULT_ROOT_SIZE = '4Gi';
export const KARPENTER_DEFAULT_DATA_GIB = 20;

export type SnippetKind = 'eksctl' | 'karpenter';

/**
 * What to add to an eksctl node group: its own volume becomes the OS volume (`volumeName:
 * /dev/xvda`; eksctl otherwise names it /dev/xvdb for Bottlerocket, defaults.go
 * `setVolumeDefaults`) and the data volume is an `additionalVolumes` entry with the snapshot.
 * `dataGiB` is the data volume's size: never below what the group has today. `group` is what the
 * group already sets: an OS volume it already names is not repeated, and a `volumeSize` it has
 * is replaced.
 */
export function eksctlSnippet(
  snapshotId: string,
  dataGiB: number,
  group: { volumeName?: string; volumeSize?: string } = {},
): string {
  const os =
    group.volumeName === '/dev/xvda'
      ? []
      : [
          "volumeName: /dev/xvda   # the group's own volume becomes the OS volume",
          group.volumeSize === undefined
            ? 'volumeSize: 4           # OS volume GiB (eksctl wants a volumeSize with volumeName)'
            : `volumeSize: 4           # OS volume GiB; replaces volumeSize: ${group.volumeSize}, which sized the data volume`,
        ];
  return [
    ...os,
    'additionalVolumes:',
    '  - volumeName: /dev/xvdb',
    `    snapshotID: ${snapshotId}`,
    `    volumeSize: ${dataGiB}`,
  ].join('\n');
}

/**
 * `spec.blockDeviceMappings` for a Karpenter node class: both mappings, because a listed
 * `blockDeviceMappings` replaces Karpenter's defaults (the OS volume would be lost), with the
 * defaults' type and encryption.
 */
export function karpenterSnippet(snapshotId: string, dataGiB: number): string {
  return [
    'blockDeviceMappings:',
    '  - deviceName: /dev/xvda',
    '    ebs:',
    `      volumeSize: ${KARPENTER_DEFAULT_ROOT_SIZE}`,
    '      volumeType: gp3',
    '      encrypted: true',
    '  - deviceName: /dev/xvdb',
    '    ebs:',
    `      volumeSize: ${dataGiB}Gi`,
    '      volumeType: gp3',
    '      encrypted: true',
    `      snapshotID: ${snapshotId}`,
  ].join('\n');
}
