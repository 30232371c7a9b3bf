/**
 * The sweep by invocation tag both steps end with: the main step after its work, the post
 * step for what the main step could not remove. Bounded in time, and never throws.
 */
import { sweepInvocation, SWEEP_TIMEOUT_MS, type SweepResult } from '../build/cleanup.js';
import { errorMessage } from '../core/errors.js';
import type { ActionRuntime } from './runtime.js';

export type SweepScope = Pick<
  Parameters<typeof sweepInvocation>[0],
  'regions' | 'context' | 'keep' | 'uncertain' | 'known'
>;

/** One sweep by invocation tag, bounded; never throws (what it could not do is in `errors`). */
export async function sweep(rt: ActionRuntime, request: SweepScope): Promise<SweepResult> {
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
