/** Public types of the manifest rewriter. See ./index.ts for the contract. */
import type { KarpenterVersionHint } from './karpenter-version.js';
import type { SnippetKind } from './snippets.js';

export type { KarpenterVersionHint } from './karpenter-version.js';

export interface RewriteOptions {
  /** The snapshot to write: `snap-` and 8 or 17 lowercase hex digits. */
  snapshotId: string;
  /** The snapshot's size in GiB: data volumes declared smaller are raised to it. */
  requiredSizeGiB?: number;
  /** Only these eksctl node group names / Karpenter node class `metadata.name`s. Empty: all. */
  targets?: string[];
  /** MiB/s, 100..300: Karpenter v1 `ebs.volumeInitializationRate`. */
  volumeInitializationRate?: number;
  /**
   * What other files say about the Karpenter version (see ./karpenter-version.ts): with one
   * that lacks `volumeInitializationRate`, the rate is not written. The file's own documents
   * are read as well.
   */
  karpenterVersions?: KarpenterVersionHint[];
}

export type TargetKind =
  | 'eksctl-managed-nodegroup'
  | 'eksctl-nodegroup'
  | 'karpenter-ec2nodeclass'
  | 'karpenter-awsnodetemplate';

export interface TargetUpdate {
  kind: TargetKind;
  /** Node group name or node class `metadata.name` (empty when the manifest has none). */
  name: string;
  apiVersion: string;
  /** Line (1-based, original text) of the data volume entry's `volumeName` / `deviceName`. */
  line: number;
  previousSnapshotId: string | null;
  snapshotId: string;
  /** The data volume size as written before (`80`, `80Gi`); absent when none was written. */
  previousSize?: string;
  /** The size as written after the rewrite; absent when none is written. */
  size?: string;
  /** Whether this target's text changed (snapshot, size or initialization rate). */
  changed: boolean;
}

export interface ManifestFinding {
  /** 1-based line in the original text. */
  line: number;
  message: string;
  /** Set on the warning for a /dev/xvdb mapping left alone because it is not Bottlerocket. */
  notBottlerocket?: true;
}

/** A Bottlerocket node group / node class whose data volume is implicit: no /dev/xvdb entry. */
export interface MissingDataVolume {
  /** 1-based line of the group / node class. */
  line: number;
  kind: TargetKind;
  /** `eksctl managed node group 'ng'`, `EC2NodeClass 'default'`. */
  label: string;
  snippetKind: SnippetKind;
  /** Size (GiB) the data volume needs: the snapshot's, and never less than it has today. */
  dataGiB: number;
  /** What to add, with the snapshot ID. */
  snippet: string;
}

export interface RewriteResult {
  /** The new text (the original text when nothing changed or the file was skipped). */
  content: string;
  targets: TargetUpdate[];
  warnings: ManifestFinding[];
  notices: ManifestFinding[];
  /** Bottlerocket groups / node classes without a /dev/xvdb entry, with what to add. */
  missingDataVolumes: MissingDataVolume[];
  /** What this file says about the Karpenter version. */
  karpenterVersions: KarpenterVersionHint[];
  /** Why the file was left alone without being parsed (template markers). */
  skipped?: string;
}

/** The text is not valid YAML. `message` is the parser's own message; `code` its error code. */
export class ManifestParseError extends Error {
  override readonly name = 'ManifestParseError';
  constructor(
    readonly line: number,
    readonly column: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}
