/**
 * The workflow commands a step's output forms, found the way the GitHub runner finds them
 * (actions/runner src/Runner.Common/ActionCommand.cs, TryParseV2 and TryParse, called per line
 * by src/Runner.Worker/ActionCommandManager.cs TryProcessCommand): output is read line by
 * line (StreamReader.ReadLine: CR, LF or CRLF end a line); a line is a command when, after
 * leading white space (.NET TrimStart), it starts with `::name` up to the next `::`, the data
 * after it; otherwise when it holds `##[name ...]` anywhere. Only registered names count.
 * Data is unescaped as the runner does (%0D, %0A, %25).
 */
export interface WorkflowCommand {
  name: string;
  properties: string;
  data: string;
}

/** The runner's registered command extensions, and stop-commands. */
const REGISTERED = new Set([
  'stop-commands',
  'set-env',
  'set-output',
  'save-state',
  'add-mask',
  'add-path',
  'add-matcher',
  'remove-matcher',
  'warning',
  'error',
  'notice',
  'debug',
  'group',
  'endgroup',
  'echo',
  'internal-set-repo-path',
]);

const unescape = (s: string) => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');

export function workflowCommands(output: string): WorkflowCommand[] {
  const found: WorkflowCommand[] = [];
  for (const raw of output.split(/\r\n|\r|\n/)) {
    const line = raw.replace(/^[\s\u0085]+/, '');
    if (line.startsWith('::')) {
      const end = line.indexOf('::', 2);
      if (end >= 0) {
        const info = line.slice(2, end);
        const space = info.indexOf(' ');
        const name = space < 0 ? info : info.slice(0, space);
        if (REGISTERED.has(name.toLowerCase())) {
          found.push({
            name,
            properties: space < 0 ? '' : info.slice(space + 1),
            data: unescape(line.slice(end + 2)),
          });
          continue;
        }
      }
    }
    const start = raw.indexOf('##[');
    if (start < 0) continue;
    const close = raw.indexOf(']', start);
    if (close < 0) continue;
    const info = raw.slice(start + 3, close);
    const space = info.indexOf(' ');
    const name = space < 0 ? info : info.slice(0, space);
    if (REGISTERED.has(name.toLowerCase())) {
      found.push({
        name,
        properties: space < 0 ? '' : info.slice(space + 1),
        data: raw.slice(close + 1),
      });
    }
  }
  return found;
}
