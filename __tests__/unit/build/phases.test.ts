// The table of phases and the log of them (src/build/phases.ts): titles with their counts, the
// log group of each phase, and the phases a reused snapshot skips.
import { describe, expect, it } from '@jest/globals';
import {
  PHASES,
  phaseIndex,
  phaseTitle,
  Progress,
  TOTAL_PHASES,
} from '../../../src/build/phases.js';
import { MemoryLogger } from '../../../test-support/memory-logger.js';
import { VirtualClock } from '../../../test-support/virtual-clock.js';
import { rejectionOf } from '../../../test-support/rejection.js';

describe('the table of phases', () => {
  it('numbers the phases from 1, in order, each key once', () => {
    expect(TOTAL_PHASES).toBe(8);
    expect(PHASES.map((p) => phaseIndex(p.key))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Set(PHASES.map((p) => p.key)).size).toBe(PHASES.length);
  });

  it('writes a count with its noun, singular for one, and a symbol as plural', () => {
    expect(phaseTitle('pull', { images: 1, platforms: 1 })).toBe('Pulling 1 image for 1 platform');
    expect(phaseTitle('pull', { images: 3, platforms: 2 })).toBe(
      'Pulling 3 images for 2 platforms',
    );
    expect(phaseTitle('pull', { images: 'N', platforms: 'M' })).toBe(
      'Pulling N images for M platforms',
    );
    expect(phaseTitle('launch', {})).toBe('Launching the builder');
  });
});

describe('Progress', () => {
  const counts = { images: 2, platforms: 1 };

  it('runs a phase in its log group, timed, and records it', async () => {
    const clock = new VirtualClock();
    const logger = new MemoryLogger();
    const progress = new Progress(counts, logger, clock);
    const value = await progress.phase('pull', async () => {
      await clock.sleep(90_000);
      return 'made';
    });
    expect(value).toBe('made');
    expect(logger.text()).toContain('::group::[6/8] Pulling 2 images for 1 platform');
    expect(logger.messages('info')).toContain(
      '[6/8] Pulling 2 images for 1 platform: done in 1m30s',
    );
    expect(progress.phases).toEqual([
      {
        index: 6,
        title: 'Pulling 2 images for 1 platform',
        startedAt: clock.now() - 90_000,
        endedAt: clock.now(),
        outcome: 'ok',
      },
    ]);
  });

  it('records a failed phase with its error, and rethrows it', async () => {
    const logger = new MemoryLogger();
    const progress = new Progress(counts, logger, new VirtualClock());
    const error = await rejectionOf(
      progress.phase('ssm', () => Promise.reject(new Error('no agent'))),
    );
    expect(error.message).toBe('no agent');
    expect(progress.phases[0]).toMatchObject({ index: 5, outcome: 'failed', detail: 'no agent' });
    expect(logger.text()).toContain(
      '[5/8] Waiting for the builder to accept SSM commands: failed in',
    );
  });

  it('skips every phase after one, with the titles of the table', () => {
    const logger = new MemoryLogger();
    const progress = new Progress(counts, logger, new VirtualClock());
    progress.skipAfter('digests', 'reusing snap-1');
    expect(progress.phases.map((p) => [p.index, p.title, p.outcome, p.detail])).toEqual(
      PHASES.slice(2).map((p, i) => [
        i + 3,
        phaseTitle(p.key, counts),
        'skipped',
        'reusing snap-1',
      ]),
    );
    expect(logger.messages('info')).toContain(
      '[6/8] Pulling 2 images for 1 platform: skipped (reusing snap-1)',
    );
  });
});
