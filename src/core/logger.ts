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

/**
 * Text for one log message that can never form a workflow command, whatever part of it came
 * from files, registries, AWS or GitHub. The runner (actions/runner,
 * src/Runner.Worker/ActionCommandManager.cs and src/Runner.Common/ActionCommand.cs) reads the
 * step's output line by line (split at CR, LF or CRLF) and takes a line as a command when,
 * after leading white space, it starts with `::` (`::warning::`, `::add-mask::`,
 * `::stop-commands::` ...), or when it holds `##[` anywhere (the older form). So each line
 * that starts with `::` gets a backslash before it, and every `##[` becomes `##\[`; line
 * breaks of every kind become LF. Annotation messages and properties are escaped on top of
 * this by @actions/core (command.ts: escapeData, escapeProperty): they stay one line.
 */
export function commandSafe(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => {
      const safe = line.replaceAll('##[', '##\\[');
      // .NET's TrimStart also takes U+0085 (next line) for white space; JavaScript's \s does not.
      return /^[\s\u0085]*::/.test(safe) ? safe.replace(/^([\s\u0085]*)/, '$1\\') : safe;
    })
    .join('\n');
}

/** `logger` with every message and group title passed through {@link commandSafe}. */
export function commandSafeLogger(logger: Logger): Logger {
  return {
    debug: (m) => logger.debug(commandSafe(m)),
    info: (m) => logger.info(commandSafe(m)),
    warning: (m, a) => logger.warning(commandSafe(m), a),
    error: (m, a) => logger.error(commandSafe(m), a),
    notice: (m, a) => logger.notice(commandSafe(m), a),
    group: (title, fn) => logger.group(commandSafe(title), fn),
  };
}
