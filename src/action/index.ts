/**
 * The action's two steps. `runMain` validates the inputs, gets credentials,
 * builds the snapshot and reports it; `runPost` removes anything a main step
 * that did not finish cleanly may have left behind.
 */
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { createFederationStsClient } from '../aws/clients.js';
import {
  buildSnapshot,
  BuildFailure,
  lineageOf,
  STATE_CHECKPOINTS,
  STATE_CLEAN,
  STATE_INSTANCE_IDS,
  STATE_INVOCATION,
  STATE_OUTPUT_SNAPSHOTS,
  STATE_PENDING_SNAPSHOT,
  STATE_REGION,
  STATE_SWEEP_REGIONS,
  type BuildResult,
} from '../build/index.js';
import { sweepInvocation, SWEEP_TIMEOUT_MS, type SweepResult } from '../build/cleanup.js';
import { cleanUpOlderThan } from '../build/janitor.js';
import {
  createLedger,
  NO_CREATES,
  STATE_CREATES,
  type CreateLedger,
} from '../aws/create-ledger.js';
import { escapeCell } from '../core/markdown.js';
import { formatDuration } from '../core/format.js';
import { webIdentityCredentials } from '../aws/credentials.js';
import { ActionError, errorMessage } from '../core/errors.js';
import { describeFailure } from '../aws/errors.js';
import { jsonListWithin, summaryWithin } from '../core/limits.js';
import {
  parseAllActionInputs,
  parseAwsInputs,
  type ActionConfig,
  type JanitorConfig,
} from './inputs.js';
import type { BuildConfig, CredentialsConfig } from '../config/types.js';
import type { AwsClients } from '../aws/clients.js';
import {
  checkManifestsBeforeBuild,
  describeExistingSnapshot,
  updateCluster,
  type ClusterUpdateResult,
  type SnapshotFacts,
} from '../cluster-update/index.js';
import type { ActionRuntime } from './runtime.js';
import { ecrCredentials, resolveImages } from '../cache/registry/index.js';
import { newInvocationId, runContextFromEnv, type RunContext } from '../config/run-context.js';
import {
  checkEncryptionByDefault,
  distributeSnapshot,
  type DistributionConfig,
} from '../distribution/index.js';
import { applyRetention } from '../cache/retention.js';
import {
  buildSummary,
  clusterUpdateSummary,
  distributionSummary,
  failureSummary,
  promotionSummary,
  retentionSummary,
} from '../reporting/summary.js';

/** Bound on copying to other regions and enabling fast snapshot restore. */
const DISTRIBUTION_TIMEOUT_MS = 60 * 60_000;

function distributes(d: DistributionConfig): boolean {
  return (
    d.copyToRegions.length > 0 ||
    d.shareWithAccounts.length > 0 ||
    d.fastSnapshotRestoreAzs.length > 0 ||
    d.ssmParameterName !== undefined
  );
}

function credentialProvider(
  rt: ActionRuntime,
  region: string,
  credentials: CredentialsConfig,
): AwsCredentialIdentityProvider | undefined {
  const roleToAssume = credentials.roleToAssume;
  if (!roleToAssume) return undefined;
  return webIdentityCredentials(
    { ...credentials, roleToAssume },
    {
      getIdToken: (audience) => rt.getIdToken(audience),
      sts: createFederationStsClient(region),
      clock: rt.clock,
      logger: rt.logger,
      signal: rt.signal,
      maskSecret: (v) => rt.maskSecret(v),
      oidcAvailable: runContextFromEnv(rt.env).oidcAvailable,
    },
  );
}

export /** A JSON list output, as much of it as GitHub keeps (1 MB), with a warning when cut. */
function setListOutput(rt: ActionRuntime, name: string, items: readonly unknown[]): void {
  const { json, kept } = jsonListWithin(items);
  rt.setOutput(name, json);
  if (kept < items.length) {
    rt.logger.warning(
      `Output '${name}' lists ${kept} of ${items.length} entries: GitHub keeps 1 MB of an output. The log has them all.`,
    );
  }
}

function setBuildOutputs(rt: ActionRuntime, result: BuildResult): void {
  rt.setOutput('snapshot-id', result.snapshotId);
  rt.setOutput('volume-size', String(result.volumeSizeGiB));
  setListOutput(rt, 'images', result.images);
  rt.setOutput('builder-instance-id', result.builderInstanceId);
  rt.setOutput('duration-seconds', String(result.durationSeconds));
  rt.setOutput('cache-hit', String(result.cacheHit));
  rt.setOutput('build-key', result.buildKey ?? '');
  rt.setOutput('base-snapshot-id', result.baseSnapshotId ?? '');
}

export function setUpdateOutputs(rt: ActionRuntime, result: ClusterUpdateResult): void {
  setListOutput(rt, 'updated-files', result.updatedFiles);
  const pr = result.pullRequest;
  if (!pr) return;
  rt.setOutput('pull-request-operation', pr.operation);
  if (pr.number !== undefined) rt.setOutput('pull-request-number', String(pr.number));
  if (pr.url !== undefined) rt.setOutput('pull-request-url', pr.url);
}

/** Builds the snapshot (or finds it reusable), sets the build outputs, and says what it holds. */
async function buildAndReport(
  rt: ActionRuntime,
  config: ActionConfig,
  build: BuildConfig,
  clients: AwsClients,
  context: RunContext,
  summary: string[],
  ledger: CreateLedger,
): Promise<SnapshotFacts> {
  const { logger } = rt;
  const region = config.aws.region;
  if (config.distribution.shareWithAccounts.length > 0) {
    // Sharing a snapshot encrypted with the default EBS key is impossible: find out before building.
    await checkEncryptionByDefault(
      (r) => clients.ec2For(r),
      {
        region,
        shareWithAccounts: config.distribution.shareWithAccounts,
        volume: build.volume,
        copyToRegions: config.distribution.copyToRegions,
        kmsKeyIds: config.distribution.kmsKeyIds,
      },
      rt.signal,
    );
  }
  const credentialsFor = ecrCredentials((r) => clients.ecrFor(r), { clock: rt.clock });
  const result = await buildSnapshot(build, {
    clients,
    ledger,
    clock: rt.clock,
    logger,
    signal: rt.signal,
    context,
    state: { save: (k, v) => rt.saveState(k, v) },
    resolveDigests: (images, platforms, signal) =>
      resolveImages(images, platforms, {
        fetch: rt.fetch,
        credentialsFor,
        maskSecret: (value) => rt.maskSecret(value),
        logger,
        signal,
        clock: rt.clock,
      }),
  });
  setBuildOutputs(rt, result);
  summary.push(buildSummary(result));
  const pulls = result.images.filter((i) => i.status === 'ok').length;
  logger.notice(
    `Snapshot ${result.snapshotId} is ready (${result.volumeSizeGiB} GiB, ${pulls} image pulls).`,
    {
      title: 'bottlerocket-ebs-snapshot',
    },
  );
  return {
    snapshotId: result.snapshotId,
    volumeSizeGiB: result.volumeSizeGiB,
    region,
    images: result.images
      .filter((i) => i.status === 'ok')
      .map((i) => ({
        reference: i.reference,
        platform: i.platform,
        ...(i.digest ? { digest: i.digest } : {}),
        ...(i.size !== undefined ? { sizeBytes: i.size } : {}),
      })),
  };
}

/** Checks an existing snapshot can be promoted, and sets the same outputs a build would. */
async function promote(
  rt: ActionRuntime,
  snapshotId: string,
  region: string,
  clients: AwsClients,
  summary: string[],
): Promise<SnapshotFacts> {
  const facts = await describeExistingSnapshot(clients.ec2, snapshotId, region, rt.signal);
  rt.setOutput('snapshot-id', snapshotId);
  rt.setOutput('volume-size', String(facts.volumeSizeGiB));
  summary.push(promotionSummary(snapshotId, region, facts.volumeSizeGiB));
  return facts;
}

export async function runMain(rt: ActionRuntime): Promise<void> {
  const { logger } = rt;
  let parsed;
  try {
    parsed = parseAllActionInputs((name) => rt.getInput(name));
  } catch (error) {
    rt.setFailed(errorMessage(error));
    return;
  }
  const { config } = parsed;
  for (const warning of parsed.warnings) logger.warning(warning);
  if (config.janitor) {
    await runJanitor(rt, config, config.janitor);
    return;
  }
  const pullRequest = config.update?.pullRequest;
  if (pullRequest) rt.maskSecret(pullRequest.token);
  const workspace = rt.env.GITHUB_WORKSPACE ?? process.cwd();
  if (config.update) {
    // A run that could only fail at the end fails here, before any AWS call.
    try {
      const files = await checkManifestsBeforeBuild(
        config.update,
        workspace,
        config.build?.volume.sizeGiB,
      );
      logger.info(`update-files matches ${files.length} file(s): ${files.join(', ')}.`);
    } catch (error) {
      rt.setFailed(errorMessage(error));
      return;
    }
  }
  // Named before anything is created, so the post step removes only what this step made.
  const context: RunContext = { ...runContextFromEnv(rt.env), invocation: newInvocationId() };
  rt.saveState(STATE_INVOCATION, context.invocation ?? '');
  const { region } = config.aws;
  rt.saveState(STATE_REGION, region);
  // Only a build creates resources tagged with this invocation: those the sweeps look for,
  // in the build's region and every region it is copied to.
  const sweepRegions = config.build
    ? [...new Set([region, ...config.distribution.copyToRegions])]
    : [];
  rt.saveState(STATE_SWEEP_REGIONS, sweepRegions.join(','));
  if (!config.build) rt.saveState(STATE_CLEAN, 'true');
  const ledger = createLedger((k, v) => rt.saveState(k, v));
  const outputs = new Set<string>();
  const output = (ids: Iterable<string>) => {
    for (const id of ids) if (id) outputs.add(id);
    rt.saveState(STATE_OUTPUT_SNAPSHOTS, JSON.stringify([...outputs]));
  };

  const clients = rt.createClients(region, credentialProvider(rt, region, config.aws.credentials));
  const summary: string[] = [];
  try {
    const facts = config.build
      ? await buildAndReport(rt, config, config.build, clients, context, summary, ledger)
      : await promote(rt, config.snapshotId ?? '', region, clients, summary);
    output([facts.snapshotId]);
    const distribution = config.distribution;
    let snapshotIds: Record<string, string> = { [region]: facts.snapshotId };
    if (distributes(distribution)) {
      const result = await logger.group('Distributing the snapshot', () =>
        distributeSnapshot(facts.snapshotId, region, distribution, {
          ec2For: (r) => clients.ec2For(r),
          ssmFor: (r) => clients.ssmFor(r),
          clock: rt.clock,
          logger,
          signal: rt.signal,
          timeoutMs: DISTRIBUTION_TIMEOUT_MS,
        }),
      );
      snapshotIds = result.snapshotIds;
      output(Object.values(snapshotIds));
      summary.push(distributionSummary(result));
    }
    rt.setOutput('snapshot-ids', JSON.stringify(snapshotIds));

    let referenced: string[] = [];
    if (config.update) {
      const update = config.update;
      const result = await logger.group('Updating manifests', () =>
        updateCluster(facts, update, {
          workspace,
          context,
          logger,
          signal: rt.signal,
          ...(update.pullRequest ? { octokit: rt.createOctokit(update.pullRequest.token) } : {}),
        }),
      );
      referenced = result.referencedSnapshotIds;
      setUpdateOutputs(rt, result);
      summary.push(clusterUpdateSummary(result));
    }

    if (config.build && distribution.keepSnapshots !== undefined) {
      const build = config.build;
      const keep = distribution.keepSnapshots;
      const results = await logger.group(`Keeping the newest ${keep} snapshot(s)`, () =>
        applyRetention({
          lineage: lineageOf(build, context),
          repository: context.repository,
          keep,
          newSnapshotIds: snapshotIds,
          referenced: new Set(referenced),
          ec2For: (r) => clients.ec2For(r),
          logger,
          signal: rt.signal,
        }),
      );
      setListOutput(
        rt,
        'deleted-snapshots',
        results.flatMap((r) => r.deleted),
      );
      summary.push(retentionSummary(results));
    }
    await rt.writeSummary(summaryWithin(summary.join('\n')));
  } catch (error) {
    const message = describeFailure(error);
    if (error instanceof BuildFailure) {
      summary.push(failureSummary(message, error.phases, error.images));
    } else {
      summary.push(`### ❌ Failed\n\n\`\`\`\n${message}\n\`\`\`\n`);
    }
    await rt.writeSummary(summaryWithin(summary.join('\n'))).catch(() => undefined);
    rt.setFailed(error instanceof ActionError ? message : `Unexpected error: ${message}`);
  } finally {
    if (sweepRegions.length > 0 && !ledger.sent) {
      // No create request ever left this process: nothing of this run can exist.
      rt.saveState(STATE_CLEAN, 'true');
    } else if (sweepRegions.length > 0) {
      const result = await sweep(rt, {
        regions: sweepRegions.map((r) => ({ region: r, ec2: clients.ec2For(r) })),
        context,
        keep: outputs,
        uncertain: ledger.uncertain,
      });
      if (result.clean) {
        ledger.settle();
        rt.saveState(STATE_CLEAN, 'true');
      } else rt.logger.warning('Some of what this run created is left; the post step tries again.');
    }
    clients.destroy();
  }
}

/** Janitor mode: removes what dead runs of this repository left, older than the age given. */
async function runJanitor(
  rt: ActionRuntime,
  config: ActionConfig,
  janitor: JanitorConfig,
): Promise<void> {
  const { region } = config.aws;
  const repository = runContextFromEnv(rt.env).repository;
  const clients = rt.createClients(region, credentialProvider(rt, region, config.aws.credentials));
  try {
    const result = await rt.logger.group(
      `Removing what runs of ${repository} left, older than ${formatDuration(janitor.olderThanMs)}`,
      () =>
        cleanUpOlderThan({
          regions: janitor.regions.map((r) => ({ region: r, ec2: clients.ec2For(r) })),
          repository,
          olderThanMs: janitor.olderThanMs,
          clock: rt.clock,
          logger: rt.logger,
          signal: rt.signal,
        }),
    );
    rt.setOutput('deleted-snapshots', JSON.stringify(result.deletedSnapshots));
    await rt.writeSummary(
      `### 🧹 Cleanup of ${escapeCell(repository)}\n\n` +
        `Terminated ${result.terminated.length} builder(s), deleted ${result.deletedSnapshots.length} checkpoint snapshot(s) and ${result.deletedVolumes.length} volume(s) older than ${formatDuration(janitor.olderThanMs)} in ${janitor.regions.join(', ')}.\n`,
    );
    if (result.errors.length > 0) rt.setFailed(`Cleanup incomplete: ${result.errors.join('; ')}`);
  } catch (error) {
    rt.setFailed(errorMessage(error));
  } finally {
    clients.destroy();
  }
}

/** One sweep by invocation tag, bounded; never throws (what it could not do is in `errors`). */
async function sweep(
  rt: ActionRuntime,
  request: Pick<
    Parameters<typeof sweepInvocation>[0],
    'regions' | 'context' | 'keep' | 'uncertain' | 'known'
  >,
): Promise<SweepResult> {
  try {
    return await sweepInvocation({
      ...request,
      logger: rt.logger,
      clock: rt.clock,
      signal: AbortSignal.timeout(SWEEP_TIMEOUT_MS),
    });
  } catch (error) {
    const message = `the sweep by tag failed: ${errorMessage(error)}`;
    rt.logger.warning(`Cleanup: ${message}.`);
    return {
      clean: false,
      terminated: [],
      deletedSnapshots: [],
      deletedVolumes: [],
      errors: [message],
    };
  }
}

function parseIds(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text || '[]');
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

export async function runPost(rt: ActionRuntime): Promise<void> {
  const { logger } = rt;
  const region = rt.getState(STATE_REGION);
  const regions = rt.getState(STATE_SWEEP_REGIONS).split(',').filter(Boolean);
  const invocation = rt.getState(STATE_INVOCATION);
  if (!region || !invocation || regions.length === 0) {
    logger.info('The main step built nothing; nothing to clean up.');
    return;
  }
  if (rt.getState(STATE_CREATES) === NO_CREATES) {
    logger.info('The main step sent no create request to AWS; nothing to clean up.');
    return;
  }
  // Even a main step that recorded itself clean is checked: one look per kind and region.
  if (rt.getState(STATE_CLEAN) === 'true') {
    logger.info('The main step left nothing behind; checking by tag.');
  }
  let credentials: CredentialsConfig;
  try {
    credentials = parseAwsInputs((name) => rt.getInput(name)).credentials;
  } catch (error) {
    logger.warning(`Cleanup skipped: ${errorMessage(error)}`);
    return;
  }
  const clients = rt.createClients(region, credentialProvider(rt, region, credentials));
  try {
    const ids = (key: string) => rt.getState(key).split(',').filter(Boolean);
    const result = await sweep(rt, {
      regions: regions.map((r) => ({ region: r, ec2: clients.ec2For(r) })),
      context: { ...runContextFromEnv(rt.env), invocation },
      keep: new Set(parseIds(rt.getState(STATE_OUTPUT_SNAPSHOTS))),
      known: {
        instances: ids(STATE_INSTANCE_IDS),
        snapshots: [...ids(STATE_PENDING_SNAPSHOT), ...ids(STATE_CHECKPOINTS)],
      },
      // A create request was out when the main step ended, or went unanswered.
      uncertain: ['in-flight', 'uncertain'].includes(rt.getState(STATE_CREATES)),
    });
    if (!result.clean) rt.setFailed(`Cleanup incomplete: ${result.errors.join('; ')}`);
  } finally {
    clients.destroy();
  }
}
