/**
 * The build's phases as the user sees them: "[4/8] Launching the builder", each in its own log
 * group with its elapsed time, and a timeline for the job summary. PHASES is the one list of
 * them: the log, the skipped phases of a reused snapshot, and the README's "How it works"
 * (checked by __tests__/unit/repository/readme.test.ts) all take their titles from it.
 */
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { formatDuration } from '../core/format.js';

/**
 * In order; a phase's index is its place here, from 1. A `{name}` in a title is a count of
 * things, written with its noun: `{images}` becomes "1 image" or "3 images" (phaseTitle).
 */
export const PHASES = [
  { key: 'credentials', title: 'Checking AWS credentials' },
  { key: 'digests', title: 'Resolving image digests' },
  { key: 'image', title: 'Choosing the Bottlerocket image' },
  { key: 'launch', title: 'Launching the builder' },
  { key: 'ssm', title: 'Waiting for the builder to accept SSM commands' },
  { key: 'pull', title: 'Pulling {images} for {platforms}' },
  { key: 'snapshot', title: 'Snapshotting the data volume' },
  { key: 'finish', title: 'Waiting for the snapshot and cleaning up' },
] as const;

export type PhaseKey = (typeof PHASES)[number]['key'];

export const TOTAL_PHASES = PHASES.length;

/** The counts a title names: a number, or a symbol such as 'N' (the README writes "N images"). */
export type TitleCounts = Readonly<Record<string, number | string>>;

/** A phase's index, from 1. */
export function phaseIndex(key: PhaseKey): number {
  return PHASES.findIndex((p) => p.key === key) + 1;
}

/** A phase's title with its counts filled in: `{images}` with 1 is "1 image", with 'N' "N images". */
export function phaseTitle(key: PhaseKey, counts: TitleCounts): string {
  const template = PHASES[phaseIndex(key) - 1]?.title ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const count = counts[name] ?? '?';
    return `${count} ${count === 1 ? name.replace(/s$/, '') : name}`;
  });
}

export interface PhaseRecord {
  index: number;
  title: string;
  startedAt: number;
  endedAt: number;
  outcome: 'ok' | 'failed' | 'skipped';
  detail?: string;
}

export class Progress {
  readonly phases: PhaseRecord[] = [];
  constructor(
    private readonly counts: TitleCounts,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /** Runs one phase in its log group, and records how it went. */
  async phase<T>(key: PhaseKey, fn: () => Promise<T>): Promise<T> {
    const index = phaseIndex(key);
    const title = phaseTitle(key, this.counts);
    const startedAt = this.clock.now();
    const label = `[${index}/${TOTAL_PHASES}] ${title}`;
    const record: PhaseRecord = { index, title, startedAt, endedAt: startedAt, outcome: 'ok' };
    this.phases.push(record);
    try {
      return await this.logger.group(label, async () => {
        try {
          return await fn();
        } finally {
          record.endedAt = this.clock.now();
        }
      });
    } catch (error) {
      record.outcome = 'failed';
      record.detail = errorMessage(error);
      throw error;
    } finally {
      this.logger.info(
        `${label}: ${record.outcome === 'ok' ? 'done' : 'failed'} in ${formatDuration(record.endedAt - startedAt)}`,
      );
    }
  }

  /** Records every phase after `key` as skipped, for `detail`. */
  skipAfter(key: PhaseKey, detail: string): void {
    for (const phase of PHASES.slice(phaseIndex(key))) {
      const index = phaseIndex(phase.key);
      const title = phaseTitle(phase.key, this.counts);
      const now = this.clock.now();
      this.phases.push({ index, title, startedAt: now, endedAt: now, outcome: 'skipped', detail });
      this.logger.info(`[${index}/${TOTAL_PHASES}] ${title}: skipped (${detail})`);
    }
  }
}
