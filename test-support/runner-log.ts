/**
 * Renders a step's stdout as the GitHub runner shows it in the job log, line by line as it
 * arrives: workflow commands are processed, not printed. What it does is what the runner does
 * (actions/runner, src/Runner.Common/ActionCommand.cs and src/Runner.Worker/ActionCommandManager.cs):
 *
 * - A command is a line that, after leading white space, reads `::name props::data`
 *   (ActionCommand.TryParseV2); only registered command names count, anything else is output.
 *   (The legacy `##[name]data` form, ActionCommand.TryParse, is not rendered: @actions/core
 *   never writes it.)
 *   The data is unescaped `%0D` -> CR, `%0A` -> LF, `%25` -> %; property values also `%3A` -> :
 *   and `%2C` -> , (the `_escapeDataMappings` / `_escapePropertyMappings`).
 * - `::add-mask::value` registers the value, and each of its lines, with the job's secret
 *   masker (AddMaskCommandExtension): from then on every occurrence in any output line of the
 *   job, this step's or a later one's, shows as `***`. The command itself is not echoed.
 * - `::debug::` is shown only when step debug logging is on (the runner then sets
 *   RUNNER_DEBUG=1 for the step); `::group::title` / `::endgroup::` fold the lines between them
 *   under the title, shown here as a header; `::warning::`, `::error::` and `::notice::` become
 *   annotations, shown in the log as "Warning: ...", "Error: ...", "Notice: ...".
 * - `::stop-commands::token` stops command processing until a line `::token::`
 *   (ActionCommandManager.TryProcessCommand); the token is masked when longer than 6 characters.
 * - File and output commands (`set-output`, `save-state`, `set-env`, `add-path`) and problem
 *   matchers are processed without output.
 *
 * Test support only (the demo): never bundled into the action.
 */

const REGISTERED = new Set([
  'add-mask',
  'add-matcher',
  'add-path',
  'debug',
  'echo',
  'endgroup',
  'error',
  'group',
  'notice',
  'remove-matcher',
  'save-state',
  'set-env',
  'set-output',
  'stop-commands',
  'warning',
]);

export interface Command {
  name: string;
  properties: Record<string, string>;
  data: string;
}

const unescapeData = (s: string) =>
  s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
const unescapeProperty = (s: string) =>
  s
    .replace(/%0D/g, '\r')
    .replace(/%0A/g, '\n')
    .replace(/%3A/g, ':')
    .replace(/%2C/g, ',')
    .replace(/%25/g, '%');

/** ActionCommand.TryParseV2: the command of a line, or undefined when it is plain output. */
export function parseCommand(line: string, registered: ReadonlySet<string>): Command | undefined {
  const message = line.trimStart();
  if (!message.startsWith('::')) return undefined;
  const end = message.indexOf('::', 2);
  if (end < 0) return undefined;
  const info = message.slice(2, end);
  const space = info.indexOf(' ');
  const name = space < 0 ? info : info.slice(0, space);
  if (!registered.has(name)) return undefined;
  const properties: Record<string, string> = {};
  if (space > 0) {
    for (const pair of info
      .slice(space + 1)
      .trim()
      .split(',')
      .filter((p) => p !== '')) {
      const eq = pair.indexOf('=');
      if (eq > 0 && eq < pair.length - 1)
        properties[pair.slice(0, eq)] = unescapeProperty(pair.slice(eq + 1));
    }
  }
  return { name, properties, data: unescapeData(message.slice(end + 2)) };
}

export interface RunnerLogOptions {
  /** Step debug logging (RUNNER_DEBUG=1): show `::debug::` lines. */
  debug: boolean;
  /** Receives each rendered line, without its newline. */
  write: (line: string) => void;
  /** ANSI styles for headers and annotations. */
  color?: boolean;
}

export class RunnerLog {
  private readonly secrets = new Set<string>();
  private readonly registered = new Set(REGISTERED);
  private stopToken: string | undefined;

  constructor(private readonly options: RunnerLogOptions) {}

  /** The runner's secret masker: every registered value, longest first, as `***`. */
  mask(text: string): string {
    let masked = text;
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length))
      masked = masked.split(secret).join('***');
    return masked;
  }

  private out(text: string, style?: string): void {
    for (const line of this.mask(text).split(/\r?\n/)) {
      this.options.write(style && this.options.color ? `\x1b[${style}m${line}\x1b[0m` : line);
    }
  }

  private addMask(value: string): void {
    if (value.trim() === '') {
      this.out("Warning: Can't add secret mask for empty string in ##[add-mask] command.", '33');
      return;
    }
    this.secrets.add(value);
    for (const part of value.split(/[\r\n]+/)) if (part.trim()) this.secrets.add(part.trim());
  }

  private annotation(kind: string, command: Command, style: string): void {
    const where = command.properties.file
      ? ` (${command.properties.file}${command.properties.line ? `:${command.properties.line}` : ''})`
      : '';
    const title = command.properties.title ? `${command.properties.title}: ` : '';
    this.out(`${kind}${where}: ${title}${command.data}`, style);
  }

  /** One line of the step's stdout. */
  line(raw: string): void {
    const command = parseCommand(raw, this.registered);
    if (this.stopToken !== undefined) {
      if (command?.name === this.stopToken) {
        this.registered.delete(this.stopToken);
        this.stopToken = undefined;
      }
      this.out(raw);
      return;
    }
    if (!command) {
      this.out(raw);
      return;
    }
    switch (command.name) {
      case 'add-mask':
        return this.addMask(command.data);
      case 'debug':
        if (this.options.debug) this.out(`##[debug]${command.data}`, '35');
        return;
      case 'group':
        return this.out(`▸ ${command.data}`, '1');
      case 'endgroup':
        return;
      case 'warning':
        return this.annotation('Warning', command, '33');
      case 'error':
        return this.annotation('Error', command, '31');
      case 'notice':
        return this.annotation('Notice', command, '36');
      case 'stop-commands':
        this.stopToken = command.data;
        this.registered.add(command.data);
        if (command.data.length > 6) this.secrets.add(command.data);
        return this.out(raw);
      case 'echo':
        return;
      default:
        return; // set-output, save-state, set-env, add-path, matchers: processed silently
    }
  }
}
