/**
 * What happens to a completed snapshot (freshly built or reused) before the run
 * reports it: fast snapshot restore in chosen Availability Zones, copies to
 * other regions, sharing with other accounts, and an SSM parameter naming the
 * snapshot in every region that has one.
 *
 * Copies run in parallel; each region's copy is followed to `completed`, then
 * shared, then published. Every wait goes through pollUntil on the injected
 * clock and shares one deadline (`timeoutMs`).
 */
import {
  CopySnapshotCommand,
  DescribeFastSnapshotRestoresCommand,
  DescribeSnapshotsCommand,
  EnableFastSnapshotRestoresCommand,
  GetEbsDefaultKmsKeyIdCommand,
  GetEbsEncryptionByDefaultCommand,
  ModifySnapshotAttributeCommand,
  type DescribeFastSnapshotRestoreSuccessItem,
  type EC2Client,
  type Snapshot,
  type Tag,
} from '@aws-sdk/client-ec2';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { abortReason, type Clock } from './clock.js';
import { AbortedError, ActionError, InputError, awsErrorName, errorMessage } from './errors.js';
import { collectPages } from './aws-pages.js';
import { RESERVED_TAG_PREFIX } from './tags.js';
import type { Logger } from './logger.js';
import { MAX_DESCRIPTION, deleteSnapshot, waitForSnapshot } from './snapshot.js';
import { TAG_REPOSITORY } from './tags.js';
import { WaitTimeoutError, formatDuration, pollUntil } from './wait.js';

/** Names of the inputs this module's messages refer to. */
export const DISTRIBUTION_INPUTS = {
  fastSnapshotRestoreAzs: 'fast-snapshot-restore-azs',
  waitForFastSnapshotRestore: 'wait-for-fast-snapshot-restore',
  copyToRegions: 'copy-to-regions',
  copyKmsKeyIds: 'copy-kms-key-ids',
  shareWithAccounts: 'share-with-accounts',
  ssmParameterName: 'ssm-parameter-name',
  kmsKeyId: 'kms-key-id',
} as const;
const INPUT = DISTRIBUTION_INPUTS;

/**
 * Set on every copy: `<source region>/<source snapshot ID>`. A later run that
 * distributes the same snapshot again (a reused build, a re-run) finds the copy
 * by this tag instead of copying once more.
 */
export const TAG_SOURCE = `${RESERVED_TAG_PREFIX}source`;

/** EC2 allows 50 tags on a resource. */
const MAX_TAGS = 50;

export interface DistributionConfig {
  /** Regions to copy the snapshot into (not the source region). */
  copyToRegions: string[];
  /** region -> KMS key to encrypt that region's copy with. */
  kmsKeyIds: Record<string, string>;
  /** 12-digit account IDs to give createVolumePermission, on the source and each copy. */
  shareWithAccounts: string[];
  /** SSM parameter to write the region's snapshot ID to, in every region. */
  ssmParameterName?: string;
  /** AZs of the source region to enable fast snapshot restore in. */
  fastSnapshotRestoreAzs: string[];
  waitForFastSnapshotRestore: boolean;
}

export interface DistributionResult {
  /** region -> snapshot ID, the source region included. */
  snapshotIds: Record<string, string>;
  /** Accounts the snapshot (and each copy) was shared with. */
  shared: string[];
  parameters: Array<{ region: string; name: string; version?: number }>;
  fastSnapshotRestore: Array<{ az: string; state: string }>;
}

export interface DistributionDeps {
  ec2For: (region: string) => EC2Client;
  ssmFor: (region: string) => SSMClient;
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal;
  /** Bound on all waits together: source completion, copies, fast snapshot restore. */
  timeoutMs: number;
}

// ---------------------------------------------------------------------------
// Validation (pure)
// ---------------------------------------------------------------------------

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/;
const ACCOUNT_ID = /^\d{12}$/;
const AZ_SUFFIX = /^(?:[a-z]|-[a-z0-9-]*[a-z])$/;
const PARAMETER_CHARS = /^[a-zA-Z0-9_.\-/]+$/;
/** SSM allows 1011 characters for a parameter name (2048 for the full ARN). */
const MAX_PARAMETER_NAME = 1011;
const MAX_PARAMETER_LEVELS = 15;

/**
 * Checks an SSM parameter name as SSM would, so a bad name fails before the
 * build: letters, digits and `_.-/`; a hierarchical name starts with '/', has
 * no empty level and at most 15 levels; no name may begin with 'aws' or 'ssm'.
 */
export function validateParameterName(name: string): void {
  const fail = (why: string): never => {
    throw new InputError(INPUT.ssmParameterName, `'${name}' ${why}`);
  };
  if (name === '') fail('is empty.');
  if (name.length > MAX_PARAMETER_NAME) fail(`is longer than ${MAX_PARAMETER_NAME} characters.`);
  if (!PARAMETER_CHARS.test(name)) {
    fail('may only contain letters, digits and the characters _ . - /');
  }
  if (name.includes('/')) {
    if (!name.startsWith('/')) {
      fail(
        "contains '/' so it is a hierarchy and must start with '/', e.g. /eks/node-cache/snapshot-id.",
      );
    }
    const levels = name.slice(1).split('/');
    if (levels.some((level) => level === '')) fail("has an empty level ('//' or a trailing '/').");
    if (levels.length > MAX_PARAMETER_LEVELS) {
      fail(`has ${levels.length} levels; SSM allows at most ${MAX_PARAMETER_LEVELS}.`);
    }
  }
  const first = name.replace(/^\//, '').toLowerCase();
  if (first.startsWith('aws') || first.startsWith('ssm')) {
    fail("begins with 'aws' or 'ssm', which SSM reserves for itself; choose another name.");
  }
}

/** The region a KMS key ARN names, or undefined for key IDs and aliases. */
function kmsKeyRegion(keyId: string): string | undefined {
  const match = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(keyId);
  return match?.[1];
}

/** Checks a distribution configuration against the source region; throws InputError. */
export function validateDistributionConfig(config: DistributionConfig, sourceRegion: string): void {
  for (const region of config.copyToRegions) {
    if (!REGION.test(region)) {
      throw new InputError(
        INPUT.copyToRegions,
        `'${region}' is not an AWS region name like eu-west-1.`,
      );
    }
    if (region === sourceRegion) {
      throw new InputError(
        INPUT.copyToRegions,
        `'${region}' is the region the snapshot is built in; list only the other regions.`,
      );
    }
  }
  for (const [region, keyId] of Object.entries(config.kmsKeyIds)) {
    if (!config.copyToRegions.includes(region)) {
      throw new InputError(
        INPUT.copyKmsKeyIds,
        `names region '${region}', which is not in ${INPUT.copyToRegions} (${config.copyToRegions.join(', ') || 'empty'}).`,
      );
    }
    if (keyId.trim() === '' || /\s/.test(keyId)) {
      throw new InputError(
        INPUT.copyKmsKeyIds,
        `the key for ${region} ('${keyId}') is not a KMS key.`,
      );
    }
    const keyRegion = kmsKeyRegion(keyId);
    if (keyRegion !== undefined && keyRegion !== region) {
      throw new InputError(
        INPUT.copyKmsKeyIds,
        `the key for ${region} is in ${keyRegion} (${keyId}); a copy must be encrypted with a key of its own region.`,
      );
    }
  }
  for (const account of config.shareWithAccounts) {
    if (!ACCOUNT_ID.test(account)) {
      throw new InputError(
        INPUT.shareWithAccounts,
        `'${account}' is not a 12-digit AWS account ID.`,
      );
    }
  }
  if (config.ssmParameterName !== undefined) validateParameterName(config.ssmParameterName);
  for (const az of config.fastSnapshotRestoreAzs) {
    if (!az.startsWith(sourceRegion) || !AZ_SUFFIX.test(az.slice(sourceRegion.length))) {
      throw new InputError(
        INPUT.fastSnapshotRestoreAzs,
        `'${az}' is not an Availability Zone of ${sourceRegion} (like ${sourceRegion}a), where the snapshot is built.`,
      );
    }
  }
}

// ---------------------------------------------------------------------------
// Can the snapshot be shared? (before any build)
// ---------------------------------------------------------------------------

/** The parts of the action's configuration that decide whether sharing can work. */
export interface ShareCheckConfig {
  /** The source region. */
  region: string;
  shareWithAccounts: readonly string[];
  /** The build's volume encryption (inputs `encrypted` and `kms-key-id`). */
  volume: { encrypted: boolean; kmsKeyId?: string };
  copyToRegions?: readonly string[];
  /** region -> KMS key of that region's copy. */
  kmsKeyIds?: Readonly<Record<string, string>>;
}

/** Whether a key reference names the AWS managed EBS key, which cannot be shared. */
export function isDefaultEbsKey(keyId: string): boolean {
  return /(?:^|:)alias\/aws\/ebs$/.test(keyId.trim());
}

const SHARE_FIX = 'set kms-key-id to a customer managed key and grant the accounts use of it';

function copyKeyFix(region: string): string {
  return `set a customer managed key for ${region} in ${INPUT.copyKmsKeyIds} and grant the accounts use of it`;
}

/**
 * Refuses, before anything is built, a request to share a snapshot that would
 * be encrypted with the AWS managed key aws/ebs: EBS does not allow sharing
 * those. Pure; see checkEncryptionByDefault for the account settings.
 */
export function checkShareable(config: ShareCheckConfig): void {
  if (config.shareWithAccounts.length === 0) return;
  const { volume } = config;
  if (volume.encrypted && (volume.kmsKeyId === undefined || isDefaultEbsKey(volume.kmsKeyId))) {
    throw new InputError(
      INPUT.shareWithAccounts,
      `the snapshot would be encrypted with the default EBS key (aws/ebs), and snapshots encrypted with it cannot be shared; ${SHARE_FIX}.`,
    );
  }
  for (const region of config.copyToRegions ?? []) {
    const keyId = config.kmsKeyIds?.[region];
    if (keyId !== undefined && isDefaultEbsKey(keyId)) {
      throw new InputError(
        INPUT.shareWithAccounts,
        `the copy in ${region} would be encrypted with the default EBS key (aws/ebs) and so cannot be shared; ${copyKeyFix(region)}.`,
      );
    }
  }
}

export interface EncryptionByDefault {
  region: string;
  /** EBS encryption by default is on in this region. */
  enabled: boolean;
  /** The region's default EBS key, when it was looked up. */
  defaultKmsKeyId?: string;
}

async function readDefaultKmsKey(
  ec2: EC2Client,
  region: string,
  signal?: AbortSignal,
): Promise<string> {
  try {
    const out = await ec2.send(new GetEbsDefaultKmsKeyIdCommand({}), { abortSignal: signal });
    return out.KmsKeyId ?? 'alias/aws/ebs';
  } catch (error) {
    throw new ActionError(
      `Could not read the default EBS KMS key of ${region} (${describeAwsError(error)}). ` +
        `Sharing needs to know it: allow ec2:GetEbsDefaultKmsKeyId, or set a customer managed key explicitly.`,
      { cause: error },
    );
  }
}

async function readEncryptionEnabled(
  ec2: EC2Client,
  region: string,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    const out = await ec2.send(new GetEbsEncryptionByDefaultCommand({}), { abortSignal: signal });
    return out.EbsEncryptionByDefault === true;
  } catch (error) {
    throw new ActionError(
      `Could not read whether EBS encryption by default is on in ${region} (${describeAwsError(error)}). ` +
        `Sharing needs to know it: allow ec2:GetEbsEncryptionByDefault and ec2:GetEbsDefaultKmsKeyId.`,
      { cause: error },
    );
  }
}

/**
 * The account-level half of checkShareable: with EBS encryption by default on,
 * a snapshot (or a copy) without an explicit key is encrypted with the region's
 * default EBS key; when that is aws/ebs, it cannot be shared. Looks only where
 * no customer managed key is set, and only when sharing is requested. Returns
 * what it found, one entry per region it looked at.
 */
export async function checkEncryptionByDefault(
  ec2For: (region: string) => EC2Client,
  config: ShareCheckConfig,
  signal?: AbortSignal,
): Promise<EncryptionByDefault[]> {
  checkShareable(config);
  if (config.shareWithAccounts.length === 0) return [];
  const found: EncryptionByDefault[] = [];

  // Source region: an explicit key (customer managed, checked above) settles it.
  let sourceEncrypted = config.volume.encrypted;
  if (config.volume.kmsKeyId === undefined) {
    const ec2 = ec2For(config.region);
    const enabled = await readEncryptionEnabled(ec2, config.region, signal);
    const state: EncryptionByDefault = { region: config.region, enabled };
    found.push(state);
    if (enabled) {
      sourceEncrypted = true;
      state.defaultKmsKeyId = await readDefaultKmsKey(ec2, config.region, signal);
      if (isDefaultEbsKey(state.defaultKmsKeyId)) {
        throw new InputError(
          INPUT.shareWithAccounts,
          `EBS encryption by default is on in ${config.region} with the default key (aws/ebs), so the snapshot would be encrypted with it and cannot be shared; ${SHARE_FIX}.`,
        );
      }
    }
  }

  // Copy regions without their own key: the copy is encrypted with that region's
  // default key if the source is encrypted or encryption by default is on there.
  const regions = (config.copyToRegions ?? []).filter((r) => config.kmsKeyIds?.[r] === undefined);
  const results = await Promise.all(
    regions.map(async (region): Promise<EncryptionByDefault> => {
      const ec2 = ec2For(region);
      const enabled = await readEncryptionEnabled(ec2, region, signal);
      const state: EncryptionByDefault = { region, enabled };
      if (enabled || sourceEncrypted) {
        state.defaultKmsKeyId = await readDefaultKmsKey(ec2, region, signal);
      }
      return state;
    }),
  );
  for (const state of results) {
    found.push(state);
    if (state.defaultKmsKeyId !== undefined && isDefaultEbsKey(state.defaultKmsKeyId)) {
      const why = sourceEncrypted
        ? 'the source snapshot is encrypted'
        : 'EBS encryption by default is on there';
      throw new InputError(
        INPUT.shareWithAccounts,
        `the copy in ${state.region} would be encrypted with that region's default key (aws/ebs) because ${why}, and it could not be shared; ${copyKeyFix(state.region)}.`,
      );
    }
  }
  return found;
}

// ---------------------------------------------------------------------------
// Distribution
// ---------------------------------------------------------------------------

/** Rethrows cancellation as AbortedError, so it is never reported as an AWS failure. */
function rethrowIfAborted(error: unknown, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
  if (error instanceof AbortedError) throw error;
}

function describeAwsError(error: unknown): string {
  const name = awsErrorName(error);
  const message = errorMessage(error);
  return name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}

const KMS_PERMISSIONS =
  'kms:CreateGrant, kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, kms:GenerateDataKey* and kms:DescribeKey';

function looksLikeKmsProblem(error: unknown): boolean {
  const text = `${awsErrorName(error) ?? ''} ${errorMessage(error)}`;
  return /kms|key/i.test(text);
}

/** Context shared by the steps of one distribution. */
interface Run {
  snapshotId: string;
  sourceRegion: string;
  config: DistributionConfig;
  deps: DistributionDeps;
  deadline: number;
  repository: string | undefined;
}

function remaining(run: Run): number {
  return Math.max(0, run.deadline - run.deps.clock.now());
}

/** The source snapshot, followed to `completed` if it is not there yet. */
async function completedSource(run: Run): Promise<Snapshot> {
  const { deps } = run;
  try {
    return await waitForSnapshot(run.snapshotId, remaining(run), {
      ec2: deps.ec2For(run.sourceRegion),
      clock: deps.clock,
      logger: deps.logger,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
  } catch (error) {
    rethrowIfAborted(error, deps.signal);
    if (awsErrorName(error) === 'InvalidSnapshot.NotFound') {
      throw new ActionError(
        `Snapshot ${run.snapshotId} was not found in ${run.sourceRegion}, so it cannot be distributed.`,
        { cause: error },
      );
    }
    throw error;
  }
}

// --- fast snapshot restore --------------------------------------------------

const FSR_FAILED_STATES = new Set(['disabling', 'disabled']);

function fsrFailureHint(snapshotId: string): string {
  return (
    `Check the fast snapshot restore quota of the region (snapshots with FSR enabled per region) and that ` +
    `the role may call ec2:EnableFastSnapshotRestores and ec2:DescribeFastSnapshotRestores on ${snapshotId}.`
  );
}

async function describeFsr(
  ec2: EC2Client,
  snapshotId: string,
  azs: string[],
  signal?: AbortSignal,
): Promise<DescribeFastSnapshotRestoreSuccessItem[]> {
  return collectPages(async (nextToken) => {
    const out = await ec2.send(
      new DescribeFastSnapshotRestoresCommand({
        Filters: [
          { Name: 'snapshot-id', Values: [snapshotId] },
          { Name: 'availability-zone', Values: azs },
        ],
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
      { abortSignal: signal },
    );
    return { items: out.FastSnapshotRestores ?? [], nextToken: out.NextToken };
  });
}

async function enableFastSnapshotRestore(run: Run): Promise<Array<{ az: string; state: string }>> {
  const { deps, snapshotId } = run;
  const azs = run.config.fastSnapshotRestoreAzs;
  const ec2 = deps.ec2For(run.sourceRegion);
  let out;
  try {
    out = await ec2.send(
      new EnableFastSnapshotRestoresCommand({
        AvailabilityZones: azs,
        SourceSnapshotIds: [snapshotId],
      }),
      { abortSignal: run.deps.signal },
    );
  } catch (error) {
    rethrowIfAborted(error, deps.signal);
    throw new ActionError(
      `EnableFastSnapshotRestores for ${snapshotId} in ${azs.join(', ')} failed (${describeAwsError(error)}). ${fsrFailureHint(snapshotId)}`,
      { cause: error },
    );
  }
  const failures = (out.Unsuccessful ?? []).flatMap((item) =>
    (item.FastSnapshotRestoreStateErrors ?? []).map(
      (e) =>
        `${e.AvailabilityZone ?? e.AvailabilityZoneId ?? '?'}: ${e.Error?.Code ?? 'error'}${e.Error?.Message ? ` (${e.Error.Message})` : ''}`,
    ),
  );
  if (failures.length > 0) {
    throw new ActionError(
      `Fast snapshot restore could not be enabled for ${snapshotId}: ${failures.join('; ')}. ${fsrFailureHint(snapshotId)}`,
    );
  }
  const states = new Map<string, string>();
  for (const item of out.Successful ?? []) {
    if (item.AvailabilityZone) states.set(item.AvailabilityZone, item.State ?? 'enabling');
  }
  const current = (): Array<{ az: string; state: string }> =>
    azs.map((az) => ({ az, state: states.get(az) ?? 'enabling' }));

  if (!run.config.waitForFastSnapshotRestore) {
    deps.logger.notice(
      `Fast snapshot restore for ${snapshotId} is being enabled in ${azs.join(', ')} ` +
        `(${current()
          .map((s) => `${s.az}: ${s.state}`)
          .join(
            ', ',
          )}); it takes about 60 minutes per TiB to reach 'enabled' and is billed per AZ-hour from now.`,
    );
    return current();
  }

  const reported = new Map<string, string>();
  try {
    await pollUntil({
      what: `fast snapshot restore of ${snapshotId} to be enabled in ${azs.join(', ')}`,
      timeoutMs: remaining(run),
      intervalMs: 1_000,
      maxIntervalMs: 60_000,
      clock: deps.clock,
      ...(deps.signal ? { signal: deps.signal } : {}),
      check: async () => {
        const items = await describeFsr(ec2, snapshotId, azs, deps.signal);
        for (const item of items) {
          const az = item.AvailabilityZone;
          if (!az || !azs.includes(az)) continue;
          const state = item.State ?? 'unknown';
          states.set(az, state);
          const reason = item.StateTransitionReason ?? '';
          if (FSR_FAILED_STATES.has(state) || /^Server\./.test(reason)) {
            throw new ActionError(
              `Fast snapshot restore of ${snapshotId} in ${az} went to '${state}'` +
                `${reason ? ` (${reason})` : ''} instead of 'enabled'. It was disabled or failed to enable; ` +
                `enable it again, or pick other Availability Zones in ${INPUT.fastSnapshotRestoreAzs}.`,
            );
          }
          if (reported.get(az) !== state) {
            reported.set(az, state);
            deps.logger.info(`Fast snapshot restore of ${snapshotId} in ${az}: ${state}`);
          }
        }
        const pending = azs.filter((az) => states.get(az) !== 'enabled');
        if (pending.length === 0) return { done: true, value: undefined };
        return {
          done: false,
          detail: pending.map((az) => `${az} ${states.get(az) ?? 'not listed yet'}`).join(', '),
        };
      },
    });
  } catch (error) {
    if (error instanceof WaitTimeoutError) {
      throw new ActionError(
        `Fast snapshot restore of ${snapshotId} was not enabled in every AZ within ${formatDuration(error.timeoutMs)}` +
          `${error.lastDetail ? ` (still: ${error.lastDetail})` : ''}. Optimizing takes about 60 minutes per TiB; ` +
          `it goes on (and is billed) in AWS. Set ${INPUT.waitForFastSnapshotRestore} to false to not wait for it, or allow the run more time.`,
        { cause: error },
      );
    }
    throw error;
  }
  deps.logger.info(`Fast snapshot restore of ${snapshotId} is enabled in ${azs.join(', ')}.`);
  return current();
}

// --- copies ----------------------------------------------------------------

/** The source's tags, minus AWS-reserved ones, plus the copy's origin when there is room. */
function copyTags(run: Run, source: Snapshot): Tag[] {
  const tags = (source.Tags ?? []).filter(
    (t): t is Tag & { Key: string } =>
      typeof t.Key === 'string' && !t.Key.toLowerCase().startsWith('aws:') && t.Key !== TAG_SOURCE,
  );
  const list: Tag[] = tags.map((t) => ({ Key: t.Key, Value: t.Value ?? '' }));
  if (list.length < MAX_TAGS) {
    list.push({ Key: TAG_SOURCE, Value: `${run.sourceRegion}/${run.snapshotId}` });
  }
  return list;
}

function keyDescription(keyId: string | undefined, region: string): string {
  return keyId ? `KMS key ${keyId}` : `the default EBS key of ${region}`;
}

function copyKmsHint(
  run: Run,
  region: string,
  keyId: string | undefined,
  source: Snapshot,
): string {
  const sourceKey = source.Encrypted
    ? `, and to decrypt with the source's key ${source.KmsKeyId ?? '(unknown)'} in ${run.sourceRegion}`
    : '';
  return (
    `The copy in ${region} is encrypted with ${keyDescription(keyId, region)}: check that the key exists in ${region}, ` +
    `is enabled, and that its key policy and the role allow ${KMS_PERMISSIONS}${sourceKey}.`
  );
}

/** A copy this snapshot already has in `region` (from an earlier run), if any. */
async function existingCopy(
  run: Run,
  region: string,
  ec2: EC2Client,
): Promise<Snapshot | undefined> {
  let out;
  try {
    out = await ec2.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [
          { Name: `tag:${TAG_SOURCE}`, Values: [`${run.sourceRegion}/${run.snapshotId}`] },
          { Name: 'status', Values: ['pending', 'completed'] },
        ],
      }),
      { abortSignal: run.deps.signal },
    );
  } catch (error) {
    rethrowIfAborted(error, run.deps.signal);
    throw new ActionError(
      `Looking for an earlier copy of ${run.snapshotId} in ${region} failed (${describeAwsError(error)}). ` +
        `The role needs ec2:DescribeSnapshots in ${region}.`,
      { cause: error },
    );
  }
  const matches = (out.Snapshots ?? []).filter(
    (s) =>
      s.SnapshotId &&
      (s.State === 'completed' || s.State === 'pending') &&
      s.Tags?.some(
        (t) => t.Key === TAG_SOURCE && t.Value === `${run.sourceRegion}/${run.snapshotId}`,
      ),
  );
  return matches.find((s) => s.State === 'completed') ?? matches[0];
}

async function startCopy(
  run: Run,
  region: string,
  ec2: EC2Client,
  source: Snapshot,
): Promise<string> {
  const { deps, config, snapshotId } = run;
  const keyId = config.kmsKeyIds[region];
  const encrypt = source.Encrypted === true || keyId !== undefined;
  if (source.Encrypted && keyId === undefined) {
    deps.logger.notice(
      `Snapshot ${snapshotId} is encrypted and no KMS key is set for ${region} in ${INPUT.copyKmsKeyIds}: ` +
        `the copy there is encrypted with ${region}'s default EBS key.`,
    );
  }
  try {
    const out = await ec2.send(
      new CopySnapshotCommand({
        SourceRegion: run.sourceRegion,
        SourceSnapshotId: snapshotId,
        Description: (source.Description || `Copy of ${snapshotId} from ${run.sourceRegion}`).slice(
          0,
          MAX_DESCRIPTION,
        ),
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: copyTags(run, source) }],
        ...(encrypt ? { Encrypted: true } : {}),
        ...(keyId !== undefined ? { KmsKeyId: keyId } : {}),
      }),
      { abortSignal: run.deps.signal },
    );
    if (!out.SnapshotId)
      throw new ActionError(`CopySnapshot to ${region} returned no snapshot ID.`);
    deps.logger.info(`Copying ${snapshotId} to ${region} as ${out.SnapshotId}.`);
    return out.SnapshotId;
  } catch (error) {
    rethrowIfAborted(error, deps.signal);
    if (error instanceof ActionError) throw error;
    const what = `CopySnapshot of ${snapshotId} from ${run.sourceRegion} to ${region} failed (${describeAwsError(error)}).`;
    if (encrypt && looksLikeKmsProblem(error)) {
      throw new ActionError(`${what} ${copyKmsHint(run, region, keyId, source)}`, { cause: error });
    }
    const name = awsErrorName(error);
    if (
      name === 'UnauthorizedOperation' ||
      name === 'AccessDenied' ||
      name === 'AccessDeniedException'
    ) {
      throw new ActionError(
        `${what} The role needs ec2:CopySnapshot and ec2:CreateTags in ${region}` +
          `${encrypt ? `, and ${KMS_PERMISSIONS} on ${keyDescription(keyId, region)}` : ''}.`,
        { cause: error },
      );
    }
    throw new ActionError(what, { cause: error });
  }
}

async function waitForCopy(
  run: Run,
  region: string,
  ec2: EC2Client,
  copyId: string,
  source: Snapshot,
): Promise<Snapshot> {
  const { deps } = run;
  const keyId = run.config.kmsKeyIds[region];
  let lastProgress = '';
  return pollUntil({
    what: `copy ${copyId} of ${run.snapshotId} in ${region} to complete`,
    timeoutMs: remaining(run),
    intervalMs: 2_000,
    maxIntervalMs: 30_000,
    clock: deps.clock,
    ...(deps.signal ? { signal: deps.signal } : {}),
    check: async () => {
      let snapshot: Snapshot | undefined;
      try {
        const out = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [copyId] }), {
          abortSignal: deps.signal,
        });
        snapshot = out.Snapshots?.[0];
      } catch (error) {
        // A new copy can take a moment to become visible.
        if (awsErrorName(error) !== 'InvalidSnapshot.NotFound') throw error;
      }
      const state = snapshot?.State;
      if (snapshot && state === 'completed') return { done: true, value: snapshot };
      if (state === 'error') {
        const message = snapshot?.StateMessage ?? '';
        const encrypted = snapshot?.Encrypted === true || source.Encrypted === true || !!keyId;
        const hint =
          encrypted && (message === '' || /kms|key|grant|access/i.test(message))
            ? ` ${copyKmsHint(run, region, keyId, source)}`
            : '';
        throw new ActionError(
          `Copy ${copyId} of ${run.snapshotId} in ${region} failed (state 'error'${message ? `: ${message}` : ''}).${hint}`,
        );
      }
      const progress = snapshot?.Progress ?? '';
      if (progress && progress !== lastProgress) {
        lastProgress = progress;
        deps.logger.info(`Copy ${copyId} in ${region}: ${state ?? 'pending'} ${progress}`);
      }
      return { done: false, detail: `${state ?? 'not visible yet'} ${progress}`.trim() };
    },
  });
}

/** Deletes a copy that will not complete, so a failed run leaves none behind. */
async function discardCopy(
  run: Run,
  region: string,
  ec2: EC2Client,
  copyId: string,
): Promise<void> {
  try {
    // No abort signal: this runs when the run is being cancelled, too.
    await deleteSnapshot(ec2, copyId);
    run.deps.logger.info(`Deleted the unfinished copy ${copyId} in ${region}.`);
  } catch (error) {
    run.deps.logger.warning(
      `Could not delete the unfinished copy ${copyId} in ${region} (${describeAwsError(error)}); delete it by hand.`,
    );
  }
}

async function copyToRegion(run: Run, region: string, source: Snapshot): Promise<Snapshot> {
  const ec2 = run.deps.ec2For(region);
  const earlier = await existingCopy(run, region, ec2);
  let copyId: string;
  let created = false;
  if (earlier?.SnapshotId) {
    copyId = earlier.SnapshotId;
    run.deps.logger.info(
      `${run.snapshotId} already has a copy in ${region}: ${copyId} (${earlier.State}); using it.`,
    );
    if (earlier.State === 'completed') return earlier;
  } else {
    copyId = await startCopy(run, region, ec2, source);
    created = true;
  }
  try {
    return await waitForCopy(run, region, ec2, copyId, source);
  } catch (error) {
    if (created) await discardCopy(run, region, ec2, copyId);
    throw error;
  }
}

// --- sharing ---------------------------------------------------------------

async function share(run: Run, region: string, snapshot: Snapshot, ec2: EC2Client): Promise<void> {
  const { deps } = run;
  const accounts = run.config.shareWithAccounts;
  const id = snapshot.SnapshotId ?? '';
  try {
    await ec2.send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: id,
        Attribute: 'createVolumePermission',
        OperationType: 'add',
        UserIds: accounts,
      }),
      { abortSignal: run.deps.signal },
    );
  } catch (error) {
    rethrowIfAborted(error, deps.signal);
    const what = `Sharing snapshot ${id} in ${region} with ${accounts.join(', ')} failed (${describeAwsError(error)}).`;
    const text = `${awsErrorName(error) ?? ''} ${errorMessage(error)}`;
    if (
      snapshot.Encrypted &&
      (/default|managed|cannot be shared|can't be shared/i.test(text) ||
        awsErrorName(error) === 'OperationNotPermitted')
    ) {
      const fix = region === run.sourceRegion ? SHARE_FIX : copyKeyFix(region);
      throw new ActionError(
        `${what} The snapshot is encrypted with ${snapshot.KmsKeyId ?? 'a KMS key'}, which looks like the default EBS key (aws/ebs); ` +
          `snapshots encrypted with it cannot be shared with other accounts. To share it, ${fix}.`,
        { cause: error },
      );
    }
    const name = awsErrorName(error);
    if (name === 'UnauthorizedOperation' || name === 'AccessDenied') {
      throw new ActionError(`${what} The role needs ec2:ModifySnapshotAttribute in ${region}.`, {
        cause: error,
      });
    }
    if (/account|user ?id/i.test(text)) {
      throw new ActionError(`${what} Check the account IDs in ${INPUT.shareWithAccounts}.`, {
        cause: error,
      });
    }
    throw new ActionError(what, { cause: error });
  }
  deps.logger.info(`Shared ${id} in ${region} with ${accounts.join(', ')}.`);
  if (snapshot.Encrypted) {
    deps.logger.notice(
      `Snapshot ${id} in ${region} is encrypted with ${snapshot.KmsKeyId ?? 'a KMS key'}: accounts ${accounts.join(', ')} ` +
        `can only use it if that key's policy grants them kms:Decrypt, kms:DescribeKey, kms:CreateGrant and kms:ReEncrypt*.`,
    );
  }
}

// --- SSM parameter ---------------------------------------------------------

async function publish(run: Run, region: string, snapshotId: string): Promise<number | undefined> {
  const { deps } = run;
  const name = run.config.ssmParameterName ?? '';
  const ssm = deps.ssmFor(region);
  const description =
    `EBS snapshot of a Bottlerocket data volume with pre-pulled images, from bottlerocket-ebs-snapshot` +
    `${run.repository ? ` (${run.repository})` : ''}` +
    `${region === run.sourceRegion ? '' : `; copy of ${run.snapshotId} in ${run.sourceRegion}`}.`;
  try {
    const out = await ssm.send(
      new PutParameterCommand({
        Name: name,
        Value: snapshotId,
        Type: 'String',
        Overwrite: true,
        Description: description.slice(0, 1024),
      }),
      { abortSignal: run.deps.signal },
    );
    deps.logger.info(
      `SSM parameter ${name} in ${region} = ${snapshotId}${out.Version !== undefined ? ` (version ${out.Version})` : ''}.`,
    );
    return out.Version;
  } catch (error) {
    rethrowIfAborted(error, deps.signal);
    const what = `Writing SSM parameter ${name} in ${region} failed (${describeAwsError(error)}).`;
    const errName = awsErrorName(error) ?? '';
    let hint = '';
    if (errName === 'AccessDeniedException' || errName === 'AccessDenied') {
      hint = ` The role needs ssm:PutParameter on arn:aws:ssm:${region}:<account>:parameter${name.startsWith('/') ? '' : '/'}${name}.`;
    } else if (errName === 'ParameterLimitExceeded') {
      hint = ` The account has as many parameters in ${region} as SSM allows; delete unused ones.`;
    } else if (errName === 'ParameterMaxVersionLimitExceeded') {
      hint = ` The parameter has 100 versions and the oldest has a label; remove the label so SSM can drop that version.`;
    } else if (
      errName === 'HierarchyLevelLimitExceededException' ||
      errName === 'ValidationException'
    ) {
      hint = ` Choose another ${INPUT.ssmParameterName}.`;
    } else if (errName === 'UnsupportedParameterType' || errName === 'ParameterAlreadyExists') {
      hint = ` A parameter of that name exists with a type that cannot be overwritten; choose another ${INPUT.ssmParameterName}.`;
    }
    throw new ActionError(`${what}${hint}`, { cause: error });
  }
}

// --- orchestration -----------------------------------------------------------

/** Shares and publishes the snapshot of one region (the source or a copy). */
async function finishRegion(
  run: Run,
  region: string,
  snapshot: Snapshot,
  result: DistributionResult,
): Promise<void> {
  const id = snapshot.SnapshotId ?? '';
  if (run.config.shareWithAccounts.length > 0) {
    await share(run, region, snapshot, run.deps.ec2For(region));
  }
  if (run.config.ssmParameterName !== undefined) {
    const version = await publish(run, region, id);
    result.parameters.push({
      region,
      name: run.config.ssmParameterName,
      ...(version !== undefined ? { version } : {}),
    });
  }
}

/**
 * Distributes a completed snapshot: FSR in the source region's AZs, copies in
 * parallel, sharing and the SSM parameter in every region. Validates `config`
 * first (InputError). On failure of any part, the other parts still finish,
 * then one ActionError lists what failed; copies that did not complete are
 * deleted, completed ones are kept (a later run reuses them via TAG_SOURCE).
 */
export async function distributeSnapshot(
  snapshotId: string,
  sourceRegion: string,
  config: DistributionConfig,
  deps: DistributionDeps,
): Promise<DistributionResult> {
  validateDistributionConfig(config, sourceRegion);
  const copyRegions = [...new Set(config.copyToRegions)];
  const shareWithAccounts = [...new Set(config.shareWithAccounts)];
  const normalized: DistributionConfig = {
    ...config,
    copyToRegions: copyRegions,
    shareWithAccounts,
  };
  const run: Run = {
    snapshotId,
    sourceRegion,
    config: normalized,
    deps,
    deadline: deps.clock.now() + deps.timeoutMs,
    repository: undefined,
  };
  const result: DistributionResult = {
    snapshotIds: { [sourceRegion]: snapshotId },
    shared: [],
    parameters: [],
    fastSnapshotRestore: [],
  };

  const source = await completedSource(run);
  run.repository = source.Tags?.find((t) => t.Key === TAG_REPOSITORY)?.Value;

  type Part = { label: string; promise: Promise<void> };
  const parts: Part[] = [];
  if (normalized.fastSnapshotRestoreAzs.length > 0) {
    parts.push({
      label: `fast snapshot restore in ${sourceRegion}`,
      promise: enableFastSnapshotRestore(run).then((states) => {
        result.fastSnapshotRestore = states;
      }),
    });
  }
  parts.push({
    label: sourceRegion,
    promise: finishRegion(run, sourceRegion, source, result),
  });
  for (const region of copyRegions) {
    parts.push({
      label: region,
      promise: copyToRegion(run, region, source).then(async (copy) => {
        result.snapshotIds[region] = copy.SnapshotId ?? '';
        await finishRegion(run, region, copy, result);
      }),
    });
  }

  const settled = await Promise.allSettled(parts.map((p) => p.promise));
  const failures: Array<{ label: string; error: unknown }> = [];
  settled.forEach((outcome, i) => {
    if (outcome.status === 'rejected') {
      failures.push({ label: parts[i]?.label ?? '?', error: outcome.reason });
    }
  });
  if (failures.length > 0) {
    const aborted = failures.find((f) => f.error instanceof AbortedError);
    if (aborted || deps.signal?.aborted) {
      throw deps.signal?.aborted ? abortReason(deps.signal) : aborted?.error;
    }
    const copies = Object.entries(result.snapshotIds)
      .filter(([region]) => region !== sourceRegion)
      .map(([region, id]) => `${region}: ${id}`);
    if (copies.length > 0) {
      deps.logger.info(`Completed copies, kept for a later run to reuse: ${copies.join(', ')}.`);
    }
    const first = failures[0];
    if (failures.length === 1 && first) {
      const { error } = first;
      if (error instanceof ActionError || error instanceof InputError) throw error;
      throw new ActionError(`Distributing ${snapshotId} (${first.label}): ${errorMessage(error)}`, {
        cause: error,
      });
    }
    throw new ActionError(
      `Distributing ${snapshotId} failed in ${failures.length} places: ` +
        failures.map((f) => `[${f.label}] ${errorMessage(f.error)}`).join(' '),
      { cause: first?.error },
    );
  }

  if (shareWithAccounts.length > 0) result.shared = shareWithAccounts;
  // A stable order: source first, then copies as listed.
  const order = [sourceRegion, ...copyRegions];
  result.parameters.sort((a, b) => order.indexOf(a.region) - order.indexOf(b.region));
  result.snapshotIds = Object.fromEntries(
    order.map((region) => [region, result.snapshotIds[region] ?? '']),
  );
  return result;
}
