// test-support/runner-log.ts, the demo's rendering of a step's log as the runner shows it.
import { describe, expect, it } from '@jest/globals';
import { parseCommand, RunnerLog } from '../../../test-support/runner-log.js';

function render(lines: string[], debug = false): string[] {
  const out: string[] = [];
  const log = new RunnerLog({ debug, write: (l) => out.push(l) });
  for (const line of lines) log.line(line);
  return out;
}

describe('RunnerLog', () => {
  it('shows groups as headers and annotations as the runner labels them', () => {
    expect(
      render([
        '::group::[1/8] Checking AWS credentials',
        'Acting as role',
        '::endgroup::',
        '::warning::Could not resolve x%0Asecond line',
        '::error file=a.yaml,line=3,title=Bad%2C really::No target',
        '::notice::Done 100%25',
      ]),
    ).toEqual([
      '▸ [1/8] Checking AWS credentials',
      'Acting as role',
      'Warning: Could not resolve x',
      'second line',
      'Error (a.yaml:3): Bad, really: No target',
      'Notice: Done 100%',
    ]);
  });

  it('hides ::debug:: unless step debug logging is on', () => {
    expect(render(['::debug::polling', 'shown'])).toEqual(['shown']);
    expect(render(['::debug::polling', 'shown'], true)).toEqual(['##[debug]polling', 'shown']);
  });

  it('masks ::add-mask:: values, and each of their lines, in every later line', () => {
    const lines = render([
      '::add-mask::s3cr3t-token',
      '::add-mask::first%0Asecond',
      'token s3cr3t-token, then first and second',
      '::debug::also s3cr3t-token',
      '::warning::s3cr3t-token leaked?',
    ]);
    expect(lines).toEqual(['token ***, then *** and ***', 'Warning: *** leaked?']);
    expect(lines.join('\n')).not.toContain('add-mask');
  });

  it('prints commands as text between ::stop-commands:: and its token', () => {
    expect(
      render([
        '::stop-commands::pause-token-1',
        '::warning::not a warning',
        '::pause-token-1::',
        '::warning::a warning',
      ]),
    ).toEqual([
      '::stop-commands::***',
      '::warning::not a warning',
      '::***::',
      'Warning: a warning',
    ]);
  });

  it('treats unknown commands and malformed lines as output', () => {
    expect(render(['::unknown::x', '::group', 'a::b'])).toEqual([
      '::unknown::x',
      '::group',
      'a::b',
    ]);
    expect(parseCommand('  ::debug::indented', new Set(['debug']))?.data).toBe('indented');
  });
});
