/**
 * Points the cluster at the snapshot: rewrites the eksctl and Karpenter
 * manifests the user named, and opens or updates one pull request with the
 * change. Runs after a build, or for an existing snapshot (promotion).
 */
import { DescribeSnapshotsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { ActionError, errorMessage } from '../core/errors.js';
import { awsErrorName } from '../aws/errors.js';
import type { UpdateConfig } from '../config/types.js';
import type { Deps } from '../core/deps.js';
import type { Logger } from '../core/logger.js';
import {
  rewriteManifest,
  updateManifestFiles,
  type FileUpdate,
  type RewriteOptions,
  type UpdateFilesResult,
} from './manifests/index.js';
import { renderPullRequestBody, type PullRequestBodyImage } from './pull-request/body.js';
import {
  createOrUpdatePullRequest,
  type Octokit,
  type PullRequestRequest,
  type PullRequestResult,
} from './pull-request/index.js';
import { runUrl, type RunContext } from '../config/run-context.js';
import { TAG_IMAGES } from '../aws/tags.js';

export interface SnapshotFacts {
  snapshotId: string;
  volumeSizeGiB: number;
  region: string;
  images: PullRequestBodyImage[];
}

/** Checks an existing snapshot can be used by nodes, and reads what it holds from its tags. */
export async function describeExistingSnapshot(
  ec2: EC2Client,
  snapshotId: string,
  region: string,
  signal: AbortSignal,
): Promise<SnapshotFacts> {
  let snapshot;
  try {
    const out = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }), {
      abortSignal: signal,
    });
    snapshot = out.Snapshots?.[0];
  } catch (error) {
    const name = awsErrorName(error);
    if (name === 'InvalidSnapshot.NotFound' || name === 'InvalidSnapshotID.Malformed') {
      throw new ActionError(
        `Input 'snapshot-id': ${snapshotId} does not exist in ${region} (or is not visible to this account).`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  if (!snapshot)
    throw new ActionError(`Input 'snapshot-id': ${snapshotId} does not exist in ${region}.`);
  if (snapshot.State !== 'completed') {
    throw new ActionError(
      `Input 'snapshot-id': ${snapshotId} is ${snapshot.State ?? 'in an unknown state'}, not completed; nodes cannot use it yet.`,
    );
  }
  const refs =
    snapshot.Tags?.find((t) => t.Key === TAG_IMAGES)
      ?.Value?.split(' ')
      .filter(Boolean) ?? [];
  return {
    snapshotId,
    volumeSizeGiB: snapshot.VolumeSize ?? 0,
    region,
    images: refs.map((reference) => ({ reference, platform: '–' })),
  };
}

/** No clock: nothing here waits. The signal ends the pull request's GitHub calls. */
export interface ClusterUpdateDeps extends Pick<Deps, 'logger' | 'signal'> {
  workspace: string;
  context: RunContext;
  /** Present when a pull request was asked for. */
  octokit?: Octokit;
}

export interface UpdatedFile {
  path: string;
  targets: Array<{
    kind: string;
    name: string;
    line: number;
    previousSnapshotId: string | null;
    snapshotId: string;
    previousSize?: string;
    size?: string;
  }>;
}

/** A warning the manifest rewrite emitted, for the job summary; no place for run-wide ones. */
export interface ManifestWarning {
  path?: string;
  line?: number;
  message: string;
}

/** A Bottlerocket group / node class with no /dev/xvdb entry, and the YAML to add. */
export interface MissingDataVolumeReport {
  path: string;
  line: number;
  label: string;
  snippetKind: 'eksctl' | 'karpenter';
  snippet: string;
}

export interface ClusterUpdateResult {
  updatedFiles: UpdatedFile[];
  warnings: ManifestWarning[];
  missingDataVolumes: MissingDataVolumeReport[];
  /** Files matched by update-files, changed or not. */
  lookedAt: string[];
  /** Every snapshot ID written anywhere in the matched files, before or after the rewrite: in use, never to be deleted. */
  referencedSnapshotIds: string[];
  pullRequest?: PullRequestResult;
}

export function toUpdatedFile(file: FileUpdate): UpdatedFile {
  return {
    path: file.path,
    targets: file.targets
      .filter((t) => t.changed)
      .map((t) => ({
        kind: t.kind,
        name: t.name,
        line: t.line,
        previousSnapshotId: t.previousSnapshotId,
        snapshotId: t.snapshotId,
        ...(t.previousSize !== undefined ? { previousSize: t.previousSize } : {}),
        ...(t.size !== undefined ? { size: t.size } : {}),
      })),
  };
}

/** A snapshot ID of the right form for a dry run: never written anywhere. */
const PLACEHOLDER_SNAPSHOT = 'snap-00000000000000000';

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  notice: () => undefined,
  group: (_title, fn) => fn(),
};

/**
 * Everything about the manifest update that can be known before a build: the files the
 * patterns match, their size, that they are YAML and hold a data volume target. A dry run
 * with a placeholder snapshot, writing nothing; throws what the real update would.
 * Returns the matched files.
 */
export async function checkManifestsBeforeBuild(
  update: UpdateConfig,
  workspace: string,
  requiredSizeGiB?: number,
): Promise<string[]> {
  const result = await updateManifestFiles({
    workspace,
    patterns: update.patterns,
    options: {
      snapshotId: PLACEHOLDER_SNAPSHOT,
      ...(requiredSizeGiB !== undefined ? { requiredSizeGiB } : {}),
      targets: update.targets,
      ...(update.volumeInitializationRate !== undefined
        ? { volumeInitializationRate: update.volumeInitializationRate }
        : {}),
    },
    write: false,
    logger: silent,
    maxFileBytes: update.maxFileBytes,
  });
  return result.lookedAt;
}

/**
 * Rewrites the matched manifests in the workspace for the snapshot and, when asked, opens or
 * updates the pull request that carries the change.
 */
export async function updateCluster(
  facts: SnapshotFacts,
  update: UpdateConfig,
  deps: ClusterUpdateDeps,
): Promise<ClusterUpdateResult> {
  const { logger } = deps;
  const options: RewriteOptions = {
    snapshotId: facts.snapshotId,
    requiredSizeGiB: facts.volumeSizeGiB,
    targets: update.targets,
    ...(update.volumeInitializationRate !== undefined
      ? { volumeInitializationRate: update.volumeInitializationRate }
      : {}),
  };
  const result = await updateManifestFiles({
    workspace: deps.workspace,
    patterns: update.patterns,
    options,
    write: true,
    logger,
    maxFileBytes: update.maxFileBytes,
  });
  const changed = result.files.filter((f) => f.changed);
  logger.info(
    changed.length === 0
      ? `The manifests already use ${facts.snapshotId}; nothing to change.`
      : `Updated ${changed.length} file(s): ${changed.map((f) => f.path).join(', ')}.`,
  );
  const outcome = clusterUpdateResult(facts, result);

  const pr = update.pullRequest;
  if (!pr) return outcome;
  if (!deps.octokit)
    throw new ActionError('A pull request was asked for but no GitHub client is available.');
  const request = pullRequestRequest(facts, pr, deps.context, result);
  try {
    outcome.pullRequest = await createOrUpdatePullRequest(request, {
      octokit: deps.octokit,
      logger,
      signal: deps.signal,
    });
  } catch (error) {
    if (error instanceof ActionError) throw error;
    throw new ActionError(`Could not open the pull request: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  return outcome;
}

/** What the rewrite did, for the outputs and the job summary (no pull request yet). */
function clusterUpdateResult(facts: SnapshotFacts, result: UpdateFilesResult): ClusterUpdateResult {
  return {
    updatedFiles: result.files.filter((f) => f.changed).map(toUpdatedFile),
    warnings: [
      ...result.files.flatMap((f) =>
        f.warnings.map((w) => ({ path: f.path, line: w.line, message: w.message })),
      ),
      ...result.warnings.map((message) => ({ message })),
    ],
    missingDataVolumes: result.files.flatMap((f) =>
      f.missingDataVolumes.map((m) => ({
        path: f.path,
        line: m.line,
        label: m.label,
        snippetKind: m.snippetKind,
        snippet: m.snippet,
      })),
    ),
    lookedAt: result.lookedAt,
    // Any snapshot ID anywhere in the matched files, not only the targets rewritten: node
    // groups left out by 'targets', or that could not be rewritten, still use theirs.
    referencedSnapshotIds: [...new Set([...result.referencedSnapshotIds, facts.snapshotId])],
  };
}

/** The pull request for the changed files: its repository, branches, title, body and commit. */
function pullRequestRequest(
  facts: SnapshotFacts,
  pr: NonNullable<UpdateConfig['pullRequest']>,
  context: RunContext,
  result: UpdateFilesResult,
): PullRequestRequest {
  const [owner, repo] = context.repository.split('/');
  if (!owner || !repo)
    throw new ActionError(`GITHUB_REPOSITORY '${context.repository}' is not owner/name.`);
  const changed = result.files.filter((f) => f.changed);
  const body = renderPullRequestBody({
    files: changed.map((f) => ({ path: f.path, targets: f.targets.filter((t) => t.changed) })),
    images: facts.images,
    volumeSizeGiB: facts.volumeSizeGiB,
    snapshotId: facts.snapshotId,
    region: facts.region,
    runUrl: runUrl(context),
    karpenterTouched: changed.some((f) =>
      f.targets.some((t) => t.changed && t.kind.startsWith('karpenter')),
    ),
  });
  return {
    owner,
    repo,
    ...(pr.base !== undefined ? { base: pr.base } : {}),
    ...(context.branch !== undefined ? { workflowBranch: context.branch } : {}),
    branch: pr.branch,
    title: pr.title ?? `Use Bottlerocket data volume snapshot ${facts.snapshotId}`,
    body,
    commitMessage:
      pr.commitMessage ??
      `Point Bottlerocket data volumes at ${facts.snapshotId}\n\nBuilt by ${runUrl(context)}`,
    labels: pr.labels,
    draft: pr.draft,
    files: changed.map((f) => ({
      path: f.path,
      content: f.content,
      original: f.original,
      // The base branch may hold another version: the same edit is made to it.
      reapply: (text: string) => rewriteManifest(text, result.options).content,
    })),
  };
}
