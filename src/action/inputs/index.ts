/**
 * Turns the action's raw string inputs into a typed, validated configuration.
 * Every problem names the input and the offending value, and is found before
 * any AWS call is made. The mode comes first: janitor (cleanup-older-than),
 * promotion (snapshot-id) or build (images); parseAllActionInputs reports every
 * bad input at once.
 */
import { InputError, InputErrors } from '../../core/errors.js';
import { checkShareable } from '../../distribution/index.js';
import type { UpdateConfig } from '../../config/types.js';
import { optional, read, type InputReader } from './read.js';
import { parseAwsInputs } from './aws.js';
import { parseInputs } from './build.js';
import { distributes, parseDistributionInputs } from './distribution.js';
import { JANITOR_INPUT, parseJanitorInputs } from './janitor.js';
import { parseUpdateInputs } from './update.js';
import type { ActionConfig, ParsedActionInputs } from './types.js';
import { SNAPSHOT_ID } from '../../aws/snapshots.js';

export type { InputReader } from './read.js';
export { parseAwsInputs } from './aws.js';
export { parseInputs } from './build.js';
export { MAX_USER_TAGS } from './tags.js';
export { distributes } from './distribution.js';
export type { ActionConfig, JanitorConfig, ParsedActionInputs } from './types.js';

/** Promotion: an existing snapshot, distributed and/or written into manifests, never built. */
function parsePromotionInputs(
  get: InputReader,
  snapshotId: string,
  update: UpdateConfig | undefined,
): ActionConfig {
  if (!SNAPSHOT_ID.test(snapshotId))
    throw new InputError('snapshot-id', `'${snapshotId}' is not a snapshot ID (snap-...).`);
  if (read(get, 'images') !== '') {
    throw new InputError(
      'snapshot-id',
      "is set together with 'images': give images to build a snapshot, or snapshot-id to use an existing one.",
    );
  }
  const aws = parseAwsInputs(get);
  const distribution = parseDistributionInputs(get, aws.region);
  if (!update && !distributes(distribution)) {
    throw new InputError(
      'snapshot-id',
      "is set, but neither 'update-files' nor a distribution input is: there is nothing to do with the snapshot.",
    );
  }
  if (distribution.keepSnapshots !== undefined) {
    throw new InputError(
      'keep-snapshots',
      "applies to builds; it cannot be used with 'snapshot-id'.",
    );
  }
  const promotion: ActionConfig = { aws, distribution, snapshotId };
  if (update) promotion.update = update;
  return promotion;
}

/** A build: the build's inputs, then distribution, refusing a share that cannot work. */
function parseBuildInputs(get: InputReader, update: UpdateConfig | undefined): ParsedActionInputs {
  const { config: build, warnings } = parseInputs(get);
  const distribution = parseDistributionInputs(get, build.region);
  // A snapshot encrypted with the default EBS key cannot be shared: refuse before building it.
  checkShareable({
    region: build.region,
    shareWithAccounts: distribution.shareWithAccounts,
    volume: build.volume,
  });
  const config: ActionConfig = {
    aws: { region: build.region, credentials: build.credentials },
    distribution,
    build,
  };
  if (update) config.update = update;
  return { config, warnings };
}

export function parseActionInputs(get: InputReader): ParsedActionInputs {
  const age = optional(get, JANITOR_INPUT);
  if (age !== undefined) return { config: parseJanitorInputs(get, age), warnings: [] };
  const snapshotId = optional(get, 'snapshot-id');
  const update = parseUpdateInputs(get);
  if (snapshotId !== undefined) {
    return { config: parsePromotionInputs(get, snapshotId, update), warnings: [] };
  }
  return parseBuildInputs(get, update);
}

/**
 * Values that stand in for a bad input while the rest are checked: one that keeps the run's mode
 * (build, promotion, janitor) and satisfies what is required. Any other bad input stands in as
 * unset (its default).
 */
const STAND_INS: Readonly<Record<string, string>> = {
  images: 'public.ecr.aws/bottlerocket-ebs-snapshot/stand-in:1',
  'aws-region': 'us-east-1',
  'instance-profile': 'stand-in',
  'snapshot-id': 'snap-00000000',
  [JANITOR_INPUT]: '2h',
};

/**
 * parseActionInputs, reporting every bad input at once: each time an input is refused it is
 * replaced by a stand-in and the inputs are read again, until they pass or the same input is
 * refused twice (its error depends on another one's). One bad input is reported as it was;
 * several as InputErrors. Reading inputs is pure, so the rounds cost nothing.
 */
export function parseAllActionInputs(get: InputReader): ParsedActionInputs {
  const refused: InputError[] = [];
  const standIns = new Map<string, string>();
  const reader: InputReader = (name) => standIns.get(name) ?? get(name);
  // Bounded by the number of inputs (each is refused at most once); action.yml has about 50.
  for (let round = 0; round < 100; round++) {
    try {
      const parsed = parseActionInputs(reader);
      if (refused.length === 0) return parsed;
      break;
    } catch (error) {
      if (!(error instanceof InputError) || standIns.has(error.input)) {
        if (refused.length === 0) throw error;
        break;
      }
      refused.push(error);
      standIns.set(error.input, STAND_INS[error.input] ?? '');
    }
  }
  if (refused.length === 1 && refused[0]) throw refused[0];
  throw new InputErrors(refused);
}
