/**
 * timeout-minutes, the one bound on a whole build: one signal for cancellation and for the
 * deadline, which every wait and every SDK call of the build takes, so neither a wait nor a
 * request already in flight outlasts timeout-minutes; the time each bounded wait may still take
 * (`budget`); and the words that say which of the two stopped the build.
 */
import type { Clock } from '../core/clock.js';
import { AbortedError, ActionError } from '../core/errors.js';
import { WaitTimeoutError } from '../aws/wait.js';

export class Deadline {
  /** Aborted when the run is cancelled or timeout-minutes is reached. */
  readonly signal: AbortSignal;
  /** When timeout-minutes is reached, on `clock`. */
  readonly at: number;
  private readonly controller = new AbortController();
  private readonly reached: ActionError;
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly onCancel = () =>
    this.controller.abort(new AbortedError('The run was cancelled.'));

  /** Starts the bound at `started`; `cancelled` is the runner's cancellation. */
  constructor(
    private readonly timeoutMinutes: number,
    started: number,
    private readonly clock: Clock,
    private readonly cancelled: AbortSignal,
  ) {
    this.at = started + timeoutMinutes * 60_000;
    if (cancelled.aborted) this.onCancel();
    cancelled.addEventListener('abort', this.onCancel, { once: true });
    this.reached = new ActionError(
      `timeout-minutes (${timeoutMinutes}) was reached: the build was stopped.`,
    );
    // On the wall clock, as it bounds real requests.
    this.timer = setTimeout(
      () => this.controller.abort(this.reached),
      Math.max(0, this.at - clock.now()),
    );
    this.timer.unref();
    this.signal = this.controller.signal;
  }

  /** How long a wait bounded by `boundMs` may take; throws once timeout-minutes is reached. */
  budget(boundMs: number, what: string): number {
    const left = this.at - this.clock.now();
    if (left <= 0) {
      throw new ActionError(`timeout-minutes (${this.timeoutMinutes}) was reached before ${what}.`);
    }
    return Math.min(boundMs, left);
  }

  /** A wait that ran out because timeout-minutes did says so. */
  explain(error: unknown): unknown {
    if (error instanceof WaitTimeoutError && this.clock.now() >= this.at) {
      return new ActionError(
        `${error.message} The whole build is bounded by timeout-minutes (${this.timeoutMinutes}).`,
        { cause: error },
      );
    }
    return error;
  }

  /** `work`, failing with `explain`'s error. */
  explained<T>(work: Promise<T>): Promise<T> {
    return work.catch((error: unknown) => {
      throw this.explain(error);
    });
  }

  /**
   * What a failed build reports. A request cut off at the deadline may come back wrapped in an
   * ActionError: the deadline is the reason. Cancellation is, unless the error already says more
   * than that a request was aborted (an SDK call cut off rejects with `AbortError`, @smithy
   * node-http-handler `buildAbortError`, which a part may have wrapped as its own failure).
   */
  failure(error: unknown): unknown {
    const { signal } = this;
    if (signal.aborted && signal.reason === this.reached) return this.reached;
    if (signal.aborted && (!(error instanceof ActionError) || cutOff(error))) {
      return new AbortedError('The run was cancelled.');
    }
    return error;
  }

  /** Stops the timer and no longer follows the runner's cancellation. */
  dispose(): void {
    clearTimeout(this.timer);
    this.cancelled.removeEventListener('abort', this.onCancel);
  }
}

/** Whether an error is, or was caused by, a request or wait cut off by a signal. */
function cutOff(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 10) return false;
  if (error instanceof AbortedError || error.name === 'AbortError') return true;
  return cutOff(error.cause, depth + 1);
}
