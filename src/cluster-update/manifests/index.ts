/**
 * Manifest updates: point eksctl node groups and Karpenter node classes at a data volume
 * snapshot by editing the repository's YAML in place. Pure core: no GitHub or AWS calls.
 *
 * API
 * ---
 * `rewriteManifest(source, options): RewriteResult` rewrites one file's text.
 *   options (`RewriteOptions`): `{ snapshotId, requiredSizeGiB?, targets?,
 *   volumeInitializationRate?, karpenterVersions? }`.
 *   Returns `{ content, targets: TargetUpdate[], warnings, notices, missingDataVolumes,
 *   karpenterVersions, skipped? }` (findings are `{ line, message, notBottlerocket? }`, lines
 *   1-based in the original text). Throws `ManifestParseError`
 *   (`line`, `column`, `message` = the parser's message, `code`) for invalid YAML, including an
 *   alias used before its anchor, and `InputError` for bad options (`validateRewriteOptions`:
 *   input names 'snapshot-id', 'volume-size', 'volume-initialization-rate').
 * `updateManifestFiles({ workspace, patterns, options, write, logger }): Promise<UpdateFilesResult>`
 *   runs it over the files matched by glob patterns and returns `{ files, lookedAt, skipped,
 *   referencedSnapshotIds, options }`: `files` (`FileUpdate`: `path`, `targets`, `changed`,
 *   `content`, `original`, `warnings`, `notices`, `missingDataVolumes`) for every parsed file,
 *   changed or not; `lookedAt` every matched path; `skipped` `{ path, reason }` for templated,
 *   non-UTF-8 and outside-the-workspace (symlinked) files; `options` the options used (with
 *   the Karpenter version hints of all files), for rewriting another copy of a file the same way.
 *   - Patterns are tinyglobby globs relative to the workspace (`dot: false`, `!` negates, a
 *     directory is not expanded, node_modules is ignored, blank and `#` lines are dropped).
 *     Absolute paths and `..` segments throw `InputError('update-files', ...)`.
 *   - Every file is read and rewritten before any is written: a parse error anywhere throws an
 *     `ActionError` naming `file:line:column` and the parser's message, with nothing written.
 *   - No matched file, or no data volume target in any matched file: `ActionError` saying
 *     nothing was updated, listing the patterns or the files looked at, then each implicit data
 *     volume with the snippet to add, then each non-Bottlerocket mapping left alone.
 *   - With `write`, only files whose content changed are written back.
 *   - Warnings go to `logger.warning(message, { file, startLine })`, skips to `logger.notice`,
 *     notices and one line per target to `logger.info`; names in `targets` that matched no
 *     updated target get a warning.
 *
 * What is a target
 * ----------------
 * Only node groups and node classes that run Bottlerocket (./bottlerocket.ts): eksctl's
 * `IsBottlerocketImage` (`Bottlerocket`, `BottlerocketFips`, any case); for Karpenter the AMI
 * decides: a `bottlerocket@` alias (also under `amiFamily: Custom`), else `amiFamily:
 * Bottlerocket`, else `Custom` with an AMI name containing "bottlerocket". A `/dev/xvdb` mapping
 * of anything else (or of a Custom family that cannot be told) is left unchanged with a warning
 * (`notBottlerocket`) unless `targets` names it.
 * - eksctl `eksctl.io/v1alpha5` `ClusterConfig`: each entry of `managedNodeGroups[]` and
 *   `nodeGroups[]` that has an `additionalVolumes[]` entry with `volumeName: /dev/xvdb`. On that
 *   entry `snapshotID` is set (inserted when missing). The volume never gets smaller:
 *   `volumeSize` (whole GiB) is raised to `requiredSizeGiB` when smaller; when missing, eksctl
 *   gives the entry `DefaultNodeVolumeSize` (80 GiB), so one is inserted only when
 *   `requiredSizeGiB` is larger. Groups without such an entry are never given one: a
 *   Bottlerocket group gets a `missingDataVolumes` entry (and a notice, a warning when named in
 *   `targets`) with the YAML to add (./snippets.ts). eksctl has no volume initialization rate
 *   field: a notice says it was not written.
 * - Karpenter `karpenter.k8s.aws/v1` and `/v1beta1` `EC2NodeClass`, `/v1alpha1`
 *   `AWSNodeTemplate`: each `spec.blockDeviceMappings[]` entry with `deviceName: /dev/xvdb`.
 *   `ebs.snapshotID` is set (the `ebs` mapping is created when missing or empty).
 *   `ebs.volumeSize` is raised to `<requiredSizeGiB>Gi` when the EBS size Karpenter would
 *   request for it (bytes / 10^9 rounded up, as Karpenter computes it: `80Gi` is 86 GiB, `80G`
 *   is 80) is smaller, never lowered; a missing volumeSize stays missing (EC2 then sizes the
 *   volume at the snapshot's size). A Bottlerocket node class without the entry gets a
 *   `missingDataVolumes` entry with both mappings to set. `ebs.volumeInitializationRate` is set
 *   on v1 only (older API versions get a warning and no write); it exists from Karpenter
 *   v1.5.0, so a hint (./karpenter-version.ts, from this file or `karpenterVersions`) of an
 *   older Karpenter withholds it with a warning, and without any hint a notice says what it
 *   needs.
 * - `targets` (non-empty) limits the rewrite to those node group names / `metadata.name`s.
 * - A target whose snapshotID cannot be written (block scalar, shared anchor, `ebs` not a
 *   mapping) is not reported as a TargetUpdate; a warning says why.
 *
 * How files are edited
 * --------------------
 * Only the affected scalars are replaced (same quoting style) or new keys inserted (a new line
 * at the siblings' indentation, key quoting and line ending; or `, key: value` in a flow
 * mapping). Everything else is byte-for-byte the original: comments, key order, blank lines,
 * anchors, CRLF, a missing final newline, and every document of another kind. Rerunning with
 * the same snapshot returns the same text and reports no changed target. Files with Helm/Go
 * template markers (`{{` outside comments) are skipped with a reason.
 *
 * Anchors: text shared through an anchor is edited where it is defined only when every user of
 * it is a data volume being updated (a notice says so); a scalar alias whose anchor is also used
 * elsewhere is replaced by the value; anything else shared is left unchanged with a warning (so
 * the snapshot never lands on /dev/xvda or a group outside `targets`). A key that only comes
 * from a `<<` merge is overridden on the mapping itself.
 *
 * Checks (warnings, not failures), on the targets: eksctl Bottlerocket group without a
 * `/dev/xvda` volume name (eksctl would map /dev/xvdb twice); eksctl group with its own
 * launchTemplate (volumes ignored); Karpenter `instanceStorePolicy: RAID0` (NVMe mounted over
 * the cached images); Karpenter node class without a `/dev/xvda` mapping (the user list replaces
 * Karpenter's Bottlerocket defaults); several /dev/xvdb entries in one group or class.
 */
export { rewriteManifest, validateRewriteOptions } from './rewrite.js';
export {
  ManifestParseError,
  type ManifestFinding,
  type MissingDataVolume,
  type RewriteOptions,
  type RewriteResult,
  type TargetKind,
  type TargetUpdate,
} from './types.js';
export {
  checkPatterns,
  updateManifestFiles,
  type FileUpdate,
  type UpdateFilesParams,
  type UpdateFilesResult,
} from './files.js';
export { ebsGiBFromQuantity, quantityToBytes } from './quantity.js';
export { karpenterVersionHints, type KarpenterVersionHint } from './karpenter-version.js';
export {
  EKSCTL_DEFAULT_VOLUME_GIB,
  KARPENTER_DEFAULT_DATA_GIB,
  eksctlSnippet,
  karpenterSnippet,
  type SnippetKind,
} from './snippets.js';
