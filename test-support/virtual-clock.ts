import { abortReason, type Clock } from '../src/core/clock.js';

/**
 * Virtual time for tests and the performance model. Sleeps do not wait: once
 * the promise jobs queued so far have run, time jumps to the earliest wake-up
 * and those sleepers resume. Concurrent sleeps overlap as they would in real
 * time: two tasks each sleeping 10 s take 10 s, not 20 s. `advance` moves time
 * by hand (e.g. the duration of a simulated API call).
 *
 * Deterministic as long as everything else the code awaits is a promise job
 * (mocked clients). Real I/O (a child process, HTTP) does not hold time back:
 * while one task waits for it, another task's sleeps run on. Tests that mix
 * both must not depend on how far virtual time got meanwhile.
 */
export class VirtualClock implements Clock {
  private current: number;
  private sequence = 0;
  private readonly timers: Array<{ at: number; seq: number; wake: () => void }> = [];
  private scheduled = false;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const timer = {
        at: this.current + Math.max(0, ms),
        seq: this.sequence++,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const index = this.timers.indexOf(timer);
        if (index >= 0) this.timers.splice(index, 1);
        reject(abortReason(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
      this.schedule();
    });
  }

  /**
   * Fires after the promise jobs queued so far have run (setImmediate comes after them), so
   * tasks that are merely busy get to reach their next sleep before time moves.
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.timers.length === 0) return;
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const first = this.timers[0];
      if (!first) return;
      this.current = Math.max(this.current, first.at);
      const due = this.timers.filter((t) => t.at <= this.current);
      this.timers.splice(0, due.length);
      for (const timer of due) timer.wake();
      if (this.timers.length > 0) this.schedule();
    });
  }
}
