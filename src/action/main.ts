/**
 * The main step: validates the inputs, gets credentials, builds the snapshot (or promotes an
 * existing one), distributes it, writes it into manifests, keeps the newest of its lineage, and
 * reports; then sweeps what it made and no longer needs. Each stage is a function below, in
 * the order runMain calls them.
 */
import {
  buildSnapshot,
  lineageOf,
  STATE_CLEAN,
  STATE_INVOCATION,
  STATE_OUTPUT_SNAPSHOTS,
  STATE_REGION,
  STATE_SWEEP_REGIONS,
  type BuildResult,
} from '../build/index.js';
import { createLedger, type CreateLedger } from '../aws/create-ledger.js';
import type { AwsClients } from '../aws/clients.js';
import { errorMessage } from '../core/errors.js';
import type { BuildConfig } from '../config/types.js';
import { newInvocationId, runContextFromEnv, type RunContext } from '../config/run-context.js';
import {
  checkManifestsBeforeBuild,
  describeExistingSnapshot,
  updateCluster,
  type SnapshotFacts,
} from '../cluster-update/index.js';
import { ecrCredentials, resolveImages } from '../cache/registry/index.js';
import { applyRetention } from '../cache/retention.js';
import { checkEncryptionByDefault, distributeSnapshot } from '../distribution/index.js';
import {
  buildSummary,
  clusterUpdateSummary,
  distributionSummary,
  promotionSummary,
  retentionSummary,
} from '../reporting/summary.js';
import {
  distributes,
  parseAllActionInputs,
  type ActionConfig,
  type ParsedActionInputs,
} from './inputs/index.js';
import { clientsFor } from './clients.js';
import { runJanitor } from './janitor.js';
import {
  reportFailure,
  setBuildOutputs,
  setListOutput,
  setUpdateOutputs,
  writeSummary,
} from './outputs.js';
import { sweep } from './sweep.js';
import type { ActionRuntime } from './runtime.js';

/** Bound on copying to other regions and enabling fast snapshot restore. */
const DISTRIBUTION_TIMEOUT_MS = 60 * 60_000;

/** One main step's working set, from its inputs to its cleanup. */
interface MainStep {
  rt: ActionRuntime;
  config: ActionConfig;
  workspace: string;
  /** The run, with this step's invocation ID: what the resources it creates are tagged with. */
  context: RunContext;
  ledger: CreateLedger;
  /** The build's region and those it is copied to; none when nothing is built. */
  sweepRegions: string[];
  /** The run's output snapshots: the sweep keeps them. */
  outputs: Set<string>;
  /** The job summary's sections, in order. */
  summary: string[];
  clients: AwsClients;
}

export async function runMain(rt: ActionRuntime): Promise<void> {
  const parsed = readInputs(rt);
  if (!parsed) return;
  const { config } = parsed;
  if (config.janitor) {
    await runJanitor(rt, config, config.janitor);
    return;
  }
  const workspace = rt.env.GITHUB_WORKSPACE ?? process.cwd();
  if (!(await checkManifests(rt, config, workspace))) return;
  const step = startStep(rt, config, workspace);
  try {
    const facts = await snapshotToUse(step);
    const snapshotIds = await distribute(step, facts);
    const referenced = await updateManifests(step, facts);
    await keepNewest(step, snapshotIds, referenced);
    await writeSummary(rt, step.summary);
  } catch (error) {
    await reportFailure(rt, error, step.summary);
  } finally {
    await sweepAfterwards(step);
    step.clients.destroy();
  }
}

/** The inputs, all checked at once; undefined (the step failed) when any is bad. */
function readInputs(rt: ActionRuntime): ParsedActionInputs | undefined {
  let parsed: ParsedActionInputs;
  try {
    parsed = parseAllActionInputs((name) => rt.getInput(name));
  } catch (error) {
    rt.setFailed(errorMessage(error));
    return undefined;
  }
  for (const warning of parsed.warnings) rt.logger.warning(warning);
  const pullRequest = parsed.config.update?.pullRequest;
  if (pullRequest) rt.maskSecret(pullRequest.token);
  return parsed;
}

/** A run that could only fail at the end fails here, before any AWS call. */
async function checkManifests(
  rt: ActionRuntime,
  config: ActionConfig,
  workspace: string,
): Promise<boolean> {
  if (!config.update) return true;
  try {
    const files = await checkManifestsBeforeBuild(
      config.update,
      workspace,
      config.build?.volume.sizeGiB,
    );
    rt.logger.info(`update-files matches ${files.length} file(s): ${files.join(', ')}.`);
    return true;
  } catch (error) {
    rt.setFailed(errorMessage(error));
    return false;
  }
}

/**
 * Names the invocation and saves what the post step needs before anything is created, so the
 * post step removes only what this step made; then the clients.
 */
function startStep(rt: ActionRuntime, config: ActionConfig, workspace: string): MainStep {
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
  const clients = clientsFor(rt, region, config.aws.credentials);
  return {
    rt,
    config,
    workspace,
    context,
    ledger,
    sweepRegions,
    outputs: new Set(),
    summary: [],
    clients,
  };
}

/** Records output snapshots (kept by the sweeps), in state for the post step. */
function addOutputs(step: MainStep, ids: Iterable<string>): void {
  for (const id of ids) if (id) step.outputs.add(id);
  step.rt.saveState(STATE_OUTPUT_SNAPSHOTS, JSON.stringify([...step.outputs]));
}

/** The snapshot this run delivers: built (or found reusable), or the one given to promote. */
async function snapshotToUse(step: MainStep): Promise<SnapshotFacts> {
  const { config } = step;
  const facts = config.build
    ? await buildAndReport(step, config.build)
    : await promote(step, config.snapshotId ?? '');
  addOutputs(step, [facts.snapshotId]);
  return facts;
}

/** Sharing a snapshot encrypted with the default EBS key is impossible: find out before building. */
async function checkSharing(step: MainStep, build: BuildConfig): Promise<void> {
  const { rt, config, clients } = step;
  if (config.distribution.shareWithAccounts.length === 0) return;
  await checkEncryptionByDefault(
    (r) => clients.ec2For(r),
    {
      region: config.aws.region,
      shareWithAccounts: config.distribution.shareWithAccounts,
      volume: build.volume,
      copyToRegions: config.distribution.copyToRegions,
      kmsKeyIds: config.distribution.kmsKeyIds,
    },
    rt.signal,
  );
}

/** The build, with the runtime's clock, log, signal, state and registry access. */
function runBuild(step: MainStep, config: BuildConfig): Promise<BuildResult> {
  const { rt, clients, ledger, context } = step;
  const credentialsFor = ecrCredentials((r) => clients.ecrFor(r), { clock: rt.clock });
  return buildSnapshot(config, {
    clients,
    ledger,
    clock: rt.clock,
    logger: rt.logger,
    signal: rt.signal,
    context,
    state: { save: (k, v) => rt.saveState(k, v) },
    resolveDigests: (images, platforms, signal) =>
      resolveImages(images, platforms, {
        fetch: rt.fetch,
        credentialsFor,
        maskSecret: (value) => rt.maskSecret(value),
        logger: rt.logger,
        signal,
        clock: rt.clock,
      }),
  });
}

/** What the later stages need of a built snapshot: its images that were pulled. */
function factsOf(result: BuildResult, region: string): SnapshotFacts {
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

/** Builds the snapshot (or finds it reusable), sets the build outputs, and says what it holds. */
async function buildAndReport(step: MainStep, config: BuildConfig): Promise<SnapshotFacts> {
  const { rt } = step;
  await checkSharing(step, config);
  const result = await runBuild(step, config);
  setBuildOutputs(rt, result);
  step.summary.push(buildSummary(result));
  const pulls = result.images.filter((i) => i.status === 'ok').length;
  rt.logger.notice(
    `Snapshot ${result.snapshotId} is ready (${result.volumeSizeGiB} GiB, ${pulls} image pulls).`,
    {
      title: 'bottlerocket-ebs-snapshot',
    },
  );
  return factsOf(result, step.config.aws.region);
}

/** Checks an existing snapshot can be promoted, and sets the same outputs a build would. */
async function promote(step: MainStep, snapshotId: string): Promise<SnapshotFacts> {
  const { rt, clients } = step;
  const { region } = step.config.aws;
  const facts = await describeExistingSnapshot(clients.ec2, snapshotId, region, rt.signal);
  rt.setOutput('snapshot-id', snapshotId);
  rt.setOutput('volume-size', String(facts.volumeSizeGiB));
  step.summary.push(promotionSummary(snapshotId, region, facts.volumeSizeGiB));
  return facts;
}

/** Copies, shares, publishes and fast-restores the snapshot as asked; its ID in each region. */
async function distribute(step: MainStep, facts: SnapshotFacts): Promise<Record<string, string>> {
  const { rt, clients } = step;
  const { region } = step.config.aws;
  const distribution = step.config.distribution;
  let snapshotIds: Record<string, string> = { [region]: facts.snapshotId };
  if (distributes(distribution)) {
    const result = await rt.logger.group('Distributing the snapshot', () =>
      distributeSnapshot(facts.snapshotId, region, distribution, {
        ec2For: (r) => clients.ec2For(r),
        ssmFor: (r) => clients.ssmFor(r),
        clock: rt.clock,
        logger: rt.logger,
        signal: rt.signal,
        timeoutMs: DISTRIBUTION_TIMEOUT_MS,
      }),
    );
    snapshotIds = result.snapshotIds;
    addOutputs(step, Object.values(snapshotIds));
    step.summary.push(distributionSummary(result));
  }
  rt.setOutput('snapshot-ids', JSON.stringify(snapshotIds));
  return snapshotIds;
}

/** Writes the snapshot into the manifests (maybe by pull request); the snapshots they name. */
async function updateManifests(step: MainStep, facts: SnapshotFacts): Promise<string[]> {
  const { rt, config } = step;
  const update = config.update;
  if (!update) return [];
  const result = await rt.logger.group('Updating manifests', () =>
    updateCluster(facts, update, {
      workspace: step.workspace,
      context: step.context,
      logger: rt.logger,
      signal: rt.signal,
      ...(update.pullRequest ? { octokit: rt.createOctokit(update.pullRequest.token) } : {}),
    }),
  );
  setUpdateOutputs(rt, result);
  step.summary.push(clusterUpdateSummary(result));
  return result.referencedSnapshotIds;
}

/** keep-snapshots: deletes the lineage's older snapshots, never one a manifest still names. */
async function keepNewest(
  step: MainStep,
  snapshotIds: Record<string, string>,
  referenced: string[],
): Promise<void> {
  const { rt, config, clients, context } = step;
  const build = config.build;
  const keep = config.distribution.keepSnapshots;
  if (!build || keep === undefined) return;
  const results = await rt.logger.group(`Keeping the newest ${keep} snapshot(s)`, () =>
    applyRetention({
      lineage: lineageOf(build, context),
      repository: context.repository,
      keep,
      newSnapshotIds: snapshotIds,
      referenced: new Set(referenced),
      ec2For: (r) => clients.ec2For(r),
      logger: rt.logger,
      signal: rt.signal,
    }),
  );
  setListOutput(
    rt,
    'deleted-snapshots',
    results.flatMap((r) => r.deleted),
  );
  step.summary.push(retentionSummary(results));
}

/** Removes what the build made and the run does not keep; says clean only when it is. */
async function sweepAfterwards(step: MainStep): Promise<void> {
  const { rt, ledger, sweepRegions, clients } = step;
  if (sweepRegions.length === 0) return;
  if (!ledger.sent) {
    // No create request ever left this process: nothing of this run can exist.
    rt.saveState(STATE_CLEAN, 'true');
    return;
  }
  const result = await sweep(rt, {
    regions: sweepRegions.map((r) => ({ region: r, ec2: clients.ec2For(r) })),
    context: step.context,
    keep: step.outputs,
    uncertain: ledger.uncertain,
  });
  if (result.clean) {
    ledger.settle();
    rt.saveState(STATE_CLEAN, 'true');
  } else rt.logger.warning('Some of what this run created is left; the post step tries again.');
}
