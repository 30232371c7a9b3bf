/**
 * The logging surface the core uses. The action entry points back it with
 * `@actions/core`; tests back it with an in-memory recorder.
 */
export interface Annotation {
  title?: string;
  file?: string;
  startLine?: number;
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  /** Shown as a warning annotation on the run. */
  warning(message: string, annotation?: Annotation): void;
  /** Shown as an error annotation on the run (does not fail the step by itself). */
  error(message: string, annotation?: Annotation): void;
  /** Shown as a notice annotation on the run. */
  notice(message: string, annotation?: Annotation): void;
  /** Runs `fn` inside a collapsible log group. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
}

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
