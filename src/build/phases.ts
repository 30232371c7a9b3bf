/**
 * Phases of a run as the user sees them: "[4/7] Waiting for SSM", each in its
 * own log group with its elapsed time, and a timeline for the job summary.
 */
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { formatDuration } from '../core/format.js';

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
    private readonly total: number,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  async phase<T>(index: number, title: string, fn: () => Promise<T>): Promise<T> {
    const startedAt = this.clock.now();
    const label = `[${index}/${this.total}] ${title}`;
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

  skip(index: number, title: string, detail: string): void {
    const now = this.clock.now();
    this.phases.push({ index, title, startedAt: now, endedAt: now, outcome: 'skipped', detail });
    this.logger.info(`[${index}/${this.total}] ${title}: skipped (${detail})`);
  }
}
