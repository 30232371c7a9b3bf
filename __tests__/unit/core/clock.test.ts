import { describe, expect, it } from '@jest/globals';
import { VirtualClock } from '../../../test-support/virtual-clock.js';
import { AbortedError } from '../../../src/core/errors.js';

describe('VirtualClock', () => {
  it('lets concurrent sleeps overlap, as real time would', async () => {
    const clock = new VirtualClock(0);
    const woke: Array<[string, number]> = [];
    const task = async (name: string, ms: number[]) => {
      for (const step of ms) {
        await clock.sleep(step);
        woke.push([name, clock.now()]);
      }
    };
    await Promise.all([task('a', [10_000, 10_000]), task('b', [15_000]), task('c', [5_000])]);
    expect(clock.now()).toBe(20_000);
    expect(woke).toEqual([
      ['c', 5_000],
      ['a', 10_000],
      ['b', 15_000],
      ['a', 20_000],
    ]);
  });

  it('lets busy tasks reach their next sleep before time moves', async () => {
    const clock = new VirtualClock(0);
    const seen: number[] = [];
    const busy = async () => {
      await clock.sleep(1_000);
      // A chain of promise jobs (like a mocked API call) takes no virtual time.
      for (let i = 0; i < 100; i++) await Promise.resolve();
      seen.push(clock.now());
      await clock.sleep(1_000);
      seen.push(clock.now());
    };
    await Promise.all([busy(), clock.sleep(1_500).then(() => seen.push(clock.now()))]);
    expect(seen).toEqual([1_000, 1_500, 2_000]);
  });

  it('rejects an aborted sleep at once and forgets its wake-up', async () => {
    const clock = new VirtualClock(0);
    const controller = new AbortController();
    const long = clock.sleep(60_000, controller.signal);
    controller.abort(new AbortedError('stop'));
    await expect(long).rejects.toThrow('stop');
    await clock.sleep(1_000);
    expect(clock.now()).toBe(1_000);
    await expect(clock.sleep(1, controller.signal)).rejects.toBeInstanceOf(AbortedError);
  });

  it('moves by hand with advance', () => {
    const clock = new VirtualClock(5);
    clock.advance(10);
    expect(clock.now()).toBe(15);
  });
});
