/**
 * The post step: removes anything a main step that did not finish cleanly may have left
 * behind, found by the invocation's tag and by the IDs the main step saved in state.
 */
import {
  STATE_CHECKPOINTS,
  STATE_CLEAN,
  STATE_INSTANCE_IDS,
  STATE_INVOCATION,
  STATE_OUTPUT_SNAPSHOTS,
  STATE_PENDING_SNAPSHOT,
  STATE_REGION,
  STATE_SWEEP_REGIONS,
} from '../build/index.js';
import { NO_CREATES, STATE_CREATES } from '../aws/create-ledger.js';
import { errorMessage } from '../core/errors.js';
import { runContextFromEnv } from '../config/run-context.js';
import type { CredentialsConfig } from '../config/types.js';
import { parseAwsInputs } from './inputs/index.js';
import { clientsFor } from './clients.js';
import { sweep } from './sweep.js';
import type { ActionRuntime } from './runtime.js';

/** What the main step's state says to sweep. */
interface Leftovers {
  region: string;
  regions: string[];
  invocation: string;
}

function parseIds(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text || '[]');
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

/** Where to sweep, or undefined (said in the log) when the main step can have left nothing. */
function leftovers(rt: ActionRuntime): Leftovers | undefined {
  const { logger } = rt;
  const region = rt.getState(STATE_REGION);
  const regions = rt.getState(STATE_SWEEP_REGIONS).split(',').filter(Boolean);
  const invocation = rt.getState(STATE_INVOCATION);
  if (!region || !invocation || regions.length === 0) {
    logger.info('The main step built nothing; nothing to clean up.');
    return undefined;
  }
  if (rt.getState(STATE_CREATES) === NO_CREATES) {
    logger.info('The main step sent no create request to AWS; nothing to clean up.');
    return undefined;
  }
  // Even a main step that recorded itself clean is checked: one look per kind and region.
  if (rt.getState(STATE_CLEAN) === 'true') {
    logger.info('The main step left nothing behind; checking by tag.');
  }
  return { region, regions, invocation };
}

/** The credentials inputs, or undefined (with a warning: cleanup is skipped) when bad. */
function credentialsInputs(rt: ActionRuntime): CredentialsConfig | undefined {
  try {
    return parseAwsInputs((name) => rt.getInput(name)).credentials;
  } catch (error) {
    rt.logger.warning(`Cleanup skipped: ${errorMessage(error)}`);
    return undefined;
  }
}

export async function runPost(rt: ActionRuntime): Promise<void> {
  const left = leftovers(rt);
  if (!left) return;
  const credentials = credentialsInputs(rt);
  if (!credentials) return;
  const clients = clientsFor(rt, left.region, credentials);
  try {
    const ids = (key: string) => rt.getState(key).split(',').filter(Boolean);
    const result = await sweep(rt, {
      regions: left.regions.map((r) => ({ region: r, ec2: clients.ec2For(r) })),
      context: { ...runContextFromEnv(rt.env), invocation: left.invocation },
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
