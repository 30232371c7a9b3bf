/**
 * Bounded polling of AWS state on an injectable clock. Every wait in the action goes
 * through here, so each has a deadline, reacts to cancellation at once, and
 * runs on virtual time in tests and in the performance model.
 */
import { abortReason, type Clock } from '../core/clock.js';
import { ActionError } from '../core/errors.js';
import { describeAwsError, isTransientAwsError } from './errors.js';
import { formatDuration } from '../core/format.js';

/**
 * How long the checks of one wait may fail in a row with transient errors (network faults,
 * throttling, 5xx, each already retried by the SDK) before the wait gives up: a short outage
 * costs seconds, not the build.
 */
export const TRANSIENT_WINDOW_MS = 60_000;

export type PollResult<T> = { done: true; value: T } | { done: false; detail?: string };

export interface PollOptions<T> {
  /** What is being waited for, for messages: "the builder to come online in SSM". */
  what: string;
  timeoutMs: number;
  /**
   * First delay between checks; grows by half each time up to maxIntervalMs. Starting short
   * and backing off answers fast operations at once without flooding the API on slow ones.
   */
  intervalMs: number;
  maxIntervalMs?: number;
  /** How much the delay grows after each check (default 1.5). */
  backoff?: number;
  clock: Clock;
  signal: AbortSignal;
  check: () => Promise<PollResult<T>>;
  /** Called with each not-done detail, e.g. to log progress. */
  onPending?: (detail: string | undefined, elapsedMs: number) => void;
}

export class WaitTimeoutError extends ActionError {
  override readonly name: string = 'WaitTimeoutError';
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly lastDetail: string | undefined,
  ) {
    super(
      `Timed out after ${formatDuration(timeoutMs)} waiting for ${what}` +
        (lastDetail ? ` (last state: ${lastDetail}).` : '.'),
    );
  }
}

export async function pollUntil<T>(options: PollOptions<T>): Promise<T> {
  const { clock, signal } = options;
  const start = clock.now();
  const deadline = start + options.timeoutMs;
  const maxInterval = options.maxIntervalMs ?? options.intervalMs;
  let interval = options.intervalMs;
  let lastDetail: string | undefined;
  let failingSince: number | undefined;
  for (;;) {
    if (signal.aborted) throw abortReason(signal);
    let result: PollResult<T>;
    try {
      result = await options.check();
      failingSince = undefined;
    } catch (error) {
      const now = clock.now();
      failingSince ??= now;
      if (signal.aborted || !isTransientAwsError(error)) throw error;
      if (now - failingSince >= TRANSIENT_WINDOW_MS || now >= deadline) throw error;
      result = { done: false, detail: `${describeAwsError(error)}; trying again` };
    }
    if (result.done) return result.value;
    lastDetail = result.detail;
    const now = clock.now();
    options.onPending?.(lastDetail, now - start);
    if (now >= deadline) throw new WaitTimeoutError(options.what, options.timeoutMs, lastDetail);
    await clock.sleep(Math.min(interval, deadline - now), signal);
    interval = Math.min(maxInterval, Math.round(interval * (options.backoff ?? 1.5)));
  }
}
