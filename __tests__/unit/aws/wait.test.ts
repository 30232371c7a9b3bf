/**
 * The poller every wait goes through: a check that fails with a transient error (a network
 * fault, throttling, a 5xx) is tried again within a bounded window; any other error ends the wait.
 */
import { describe, expect, it } from '@jest/globals';
import { VirtualClock } from '../../../test-support/virtual-clock.js';
import { pollUntil, TRANSIENT_WINDOW_MS } from '../../../src/aws/wait.js';
import { rejectionOf } from '../../../test-support/rejection.js';

/** What Node's HTTP client throws when the connection drops (as the SDK passes it on). */
const hangUp = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
const unavailable = () =>
  Object.assign(new Error('Service Unavailable'), {
    name: 'ServiceUnavailable',
    $metadata: { httpStatusCode: 503 },
  });

function poll(check: () => Promise<boolean>, clock = new VirtualClock()) {
  const started = clock.now();
  return {
    elapsed: () => clock.now() - started,
    done: pollUntil({
      what: 'the snapshot to complete',
      timeoutMs: 600_000,
      intervalMs: 1000,
      maxIntervalMs: 5000,
      clock,
      signal: new AbortController().signal,
      check: async () => ((await check()) ? { done: true, value: 'ok' } : { done: false }),
    }),
  };
}

describe('pollUntil', () => {
  it('rides out a few seconds of network faults and 5xx, and returns once a check succeeds', async () => {
    let calls = 0;
    const { done, elapsed } = poll(async () => {
      calls++;
      if (calls <= 3) throw hangUp();
      if (calls <= 5) throw unavailable();
      return true;
    });
    await expect(done).resolves.toBe('ok');
    expect(calls).toBe(6);
    expect(elapsed()).toBeLessThan(TRANSIENT_WINDOW_MS);
  });

  it('gives up on transient errors that last longer than the window, with the error itself', async () => {
    let calls = 0;
    const { done, elapsed } = poll(async () => {
      calls++;
      throw hangUp();
    });
    const error = await rejectionOf(done, Error);
    expect(error.message).toBe('socket hang up');
    expect(elapsed()).toBeGreaterThanOrEqual(TRANSIENT_WINDOW_MS);
    expect(elapsed()).toBeLessThan(TRANSIENT_WINDOW_MS + 10_000);
    expect(calls).toBeLessThan(30);
  });

  it('counts the window anew after a check that went through', async () => {
    let calls = 0;
    const { done, elapsed } = poll(async () => {
      calls++;
      // Faults for about 35 s, one good answer, again and again: never 60 s in a row, though
      // far more than 60 s in all.
      if (calls === 40) return true;
      if (calls % 8 === 0) return false;
      throw hangUp();
    });
    await expect(done).resolves.toBe('ok');
    expect(elapsed()).toBeGreaterThan(2 * TRANSIENT_WINDOW_MS);
  });

  it('ends the wait at once on an error another try will not change', async () => {
    let calls = 0;
    const denied = Object.assign(new Error('not allowed'), {
      name: 'UnauthorizedOperation',
      $metadata: { httpStatusCode: 403 },
    });
    const { done, elapsed } = poll(async () => {
      calls++;
      throw denied;
    });
    expect(await rejectionOf(done, Error)).toBe(denied);
    expect(calls).toBe(1);
    expect(elapsed()).toBe(0);
  });
});
