/**
 * Janitor mode's inputs: cleanup-older-than alone (no build, promotion or update), with the AWS
 * inputs and copy-to-regions naming where to look.
 */
import { InputError } from '../../core/errors.js';
import { splitList } from '../../config/image-ref.js';
import { read, REGION, type InputReader } from './read.js';
import { parseAwsInputs } from './aws.js';
import type { ActionConfig } from './types.js';

export const JANITOR_INPUT = 'cleanup-older-than';
/** A run may last timeout-minutes (at most 6 h) after its builder starts: younger is a live run's. */
const MIN_JANITOR_AGE_MS = 60 * 60_000;

function parseAge(text: string): number {
  const match = /^(\d+)\s*(m|h|d)$/.exec(text.trim());
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 };
  if (!match) throw new InputError(JANITOR_INPUT, `'${text}' is not an age like 90m, 6h or 2d.`);
  const ms = Number(match[1]) * unit[match[2] as keyof typeof unit];
  if (ms < MIN_JANITOR_AGE_MS) {
    throw new InputError(
      JANITOR_INPUT,
      `'${text}' is under an hour: a running build's builder may be that old. Use more than your longest timeout-minutes.`,
    );
  }
  return ms;
}

/** Janitor mode: cleanup-older-than alone, with the AWS inputs and copy-to-regions. */
export function parseJanitorInputs(get: InputReader, age: string): ActionConfig {
  for (const name of ['images', 'snapshot-id', 'update-files']) {
    if (read(get, name) !== '') {
      throw new InputError(
        JANITOR_INPUT,
        `runs on its own, to clean up after dead runs: remove '${name}' (use another step to build).`,
      );
    }
  }
  const aws = parseAwsInputs(get);
  const copies = splitList(get('copy-to-regions'));
  for (const region of copies) {
    if (!REGION.test(region))
      throw new InputError('copy-to-regions', `'${region}' is not an AWS region name.`);
  }
  return {
    aws,
    distribution: {
      copyToRegions: [],
      kmsKeyIds: {},
      shareWithAccounts: [],
      fastSnapshotRestoreAzs: [],
      waitForFastSnapshotRestore: false,
    },
    janitor: { olderThanMs: parseAge(age), regions: [...new Set([aws.region, ...copies])] },
  };
}
