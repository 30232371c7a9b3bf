/** Public types of the manifest rewriter. See ./index.ts for the contract. */

export interface RewriteOptions {
  /** The snapshot to write: `snap-` and 8 or 17 lowercase hex digits. */
  snapshotId: string;
  /** The snapshot's size in GiB: data volumes declared smaller are raised to it. */
  requiredSizeGiB?: number;
  /** Only these eksctl node group names / Karpenter node class `metadata.name`s. Empty: all. */
  targets?: string[];
  /** MiB/s, 100..300: Karpenter v1 `ebs.volumeInitializationRate`. */
  volumeInitializationRate?: number;
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
}

export interface RewriteResult {
  /** The new text (the original text when nothing changed or the file was skipped). */
  content: string;
  targets: TargetUpdate[];
  warnings: ManifestFinding[];
  notices: ManifestFinding[];
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
