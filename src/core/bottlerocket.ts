/**
 * Bottlerocket's two EBS devices, named once for every part. `/dev/xvda` is the OS volume (and
 * the settings datastore); `/dev/xvdb` is the data volume, mounted at `/local` (core-kit
 * `packages/release/local.mount`), which holds `/var/lib/containerd` and so the pulled images.
 * eksctl and Karpenter map the same two names for Bottlerocket (see
 * src/cluster-update/manifests/snippets.ts for their defaults).
 */
export const ROOT_DEVICE = '/dev/xvda';
export const DATA_DEVICE = '/dev/xvdb';
