/** A logger that keeps every line in memory, for tests and the bench (never in the bundle). */
import type { Annotation, Logger } from '../src/core/logger.js';

export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'notice';

export interface LogEntry {
  level: LogLevel;
  message: string;
  annotation?: Annotation;
  group?: string;
}

/** A logger that keeps every line in memory: for tests and for the bench. */
export class MemoryLogger implements Logger {
  readonly entries: LogEntry[] = [];
  private currentGroup: string | undefined;

  private push(level: LogLevel, message: string, annotation?: Annotation): void {
    const entry: LogEntry = { level, message };
    if (annotation) entry.annotation = annotation;
    if (this.currentGroup !== undefined) entry.group = this.currentGroup;
    this.entries.push(entry);
  }
  debug(message: string): void {
    this.push('debug', message);
  }
  info(message: string): void {
    this.push('info', message);
  }
  warning(message: string, annotation?: Annotation): void {
    this.push('warning', message, annotation);
  }
  error(message: string, annotation?: Annotation): void {
    this.push('error', message, annotation);
  }
  notice(message: string, annotation?: Annotation): void {
    this.push('notice', message, annotation);
  }
  async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.currentGroup;
    this.currentGroup = title;
    this.push('info', `::group::${title}`);
    try {
      return await fn();
    } finally {
      this.currentGroup = previous;
    }
  }
  /** Every message of one level. */
  messages(level: LogLevel): string[] {
    return this.entries.filter((e) => e.level === level).map((e) => e.message);
  }
  /** All lines as text, one per line, for assertions. */
  text(): string {
    return this.entries.map((e) => `${e.level}: ${e.message}`).join('\n');
  }
}
