// src/entry/actions-runtime.ts: the runner side of ActionRuntime, on @actions/core, as the
// runner sees it: what it writes to stdout (workflow commands, none formed by untrusted text),
// to the GITHUB_OUTPUT, GITHUB_STATE and GITHUB_STEP_SUMMARY files (in a fresh folder per test),
// what it reads from INPUT_* and STATE_*, and the cancellation signal.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  actionsLogger,
  actionsRuntime,
  cancellationSignal,
} from '../../../src/entry/actions-runtime.js';
import { workflowCommands } from '../../../test-support/workflow-commands.js';

/** Untrusted text as a file, a manifest, a registry, AWS or GitHub could hand it over. */
const PAYLOADS = [
  'name\n::warning::injected',
  'name\r::add-mask::snap',
  'name\r\n  ::error file=x.yaml,line=1::injected',
  'name\n\t::stop-commands::tok',
  'name\n\u0085::set-output name=x::y',
  '::group::injected at the very start',
  'a ##[add-mask]snap in the middle of a line',
  'name\n##[warning]injected',
];

const saved = { ...process.env };
let dir = '';
let out = '';
/** The process's signal listeners before the test: the ones it adds are removed after it. */
let listeners: { SIGINT: unknown[]; SIGTERM: unknown[] } = { SIGINT: [], SIGTERM: [] };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bes-runtime-'));
  for (const name of ['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY']) {
    const file = join(dir, name);
    writeFileSync(file, '');
    process.env[name] = file;
  }
  out = '';
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  listeners = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
});
afterEach(() => {
  jest.restoreAllMocks();
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    for (const listener of process.listeners(name)) {
      if (!listeners[name].includes(listener)) process.removeListener(name, listener);
    }
  }
  process.env = { ...saved };
  process.exitCode = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string) => readFileSync(process.env[name] ?? '', 'utf8');

/** The name=value pairs of a GITHUB_OUTPUT or GITHUB_STATE file, as the runner reads them. */
function keyValues(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const pattern = /^(.+?)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n\2\n/gm;
  for (const match of text.matchAll(pattern)) values[match[1] ?? ''] = match[3] ?? '';
  return values;
}

describe('actionsLogger', () => {
  it.each(PAYLOADS)(
    '%j through every level forms only the commands the level means',
    async (payload) => {
      actionsLogger.info(`info ${payload}`);
      actionsLogger.debug(`debug ${payload}`);
      actionsLogger.warning(`warning ${payload}`, {
        file: `deploy/${payload}.yaml`,
        title: payload,
      });
      actionsLogger.error(`error ${payload}`, { file: payload, startLine: 3 });
      actionsLogger.notice(`notice ${payload}`);
      await actionsLogger.group(`group ${payload}`, async () => undefined);
      const commands = workflowCommands(out);
      expect(commands.map((c) => c.name)).toEqual([
        'debug',
        'warning',
        'error',
        'notice',
        'group',
        'endgroup',
      ]);
      const warning = commands[1];
      // The annotation's properties stay properties: ':' ',' and line breaks escaped (%3A %2C %0A).
      expect(warning?.properties).toMatch(/^title=[^,:]*,file=deploy\/[^,:]*\.yaml$/);
      expect(warning?.data.replace(/\\/g, '')).toBe(`warning ${payload}`.replace(/\r\n?/g, '\n'));
      expect(commands[2]?.properties).toMatch(/^file=[^,:]*,line=3$/);
    },
  );

  it('gives an annotation only the properties it has', () => {
    actionsLogger.warning('plain');
    actionsLogger.notice('titled', { title: 'bottlerocket-ebs-snapshot' });
    actionsLogger.error('at a line', { file: 'deploy/a.yaml', startLine: 7 });
    expect(workflowCommands(out)).toEqual([
      { name: 'warning', properties: '', data: 'plain' },
      { name: 'notice', properties: 'title=bottlerocket-ebs-snapshot', data: 'titled' },
      { name: 'error', properties: 'file=deploy/a.yaml,line=7', data: 'at a line' },
    ]);
  });

  it('runs a group’s function inside ::group:: and ::endgroup::, and gives its result', async () => {
    const result = await actionsLogger.group('Pulling', async () => {
      actionsLogger.info('pulled nginx');
      return 42;
    });
    expect(result).toBe(42);
    expect(out).toBe('::group::Pulling\npulled nginx\n::endgroup::\n');
  });
});

describe('actionsRuntime', () => {
  it('reads inputs from INPUT_* (trimmed, as @actions/core does), unset as empty', () => {
    process.env['INPUT_AWS-REGION'] = '  us-west-2 ';
    process.env['INPUT_COPY-TO-REGIONS'] = 'eu-west-1,\nap-south-1';
    const rt = actionsRuntime();
    expect(rt.getInput('aws-region')).toBe('us-west-2');
    expect(rt.getInput('copy-to-regions')).toBe('eu-west-1,\nap-south-1');
    expect(rt.getInput('role-to-assume')).toBe('');
  });

  it('writes outputs to GITHUB_OUTPUT, a value with line breaks or commands kept as data', () => {
    const rt = actionsRuntime();
    rt.setOutput('snapshot-id', 'snap-0123456789abcdef0');
    rt.setOutput('images', '[\n"name\\n::warning::x"\n]\n::set-output name=y::z');
    expect(keyValues(file('GITHUB_OUTPUT'))).toEqual({
      'snapshot-id': 'snap-0123456789abcdef0',
      images: '[\n"name\\n::warning::x"\n]\n::set-output name=y::z',
    });
    expect(workflowCommands(out)).toEqual([]);
  });

  it('saves state to GITHUB_STATE, and reads what the main step saved from STATE_*', () => {
    const rt = actionsRuntime();
    rt.saveState('region', 'us-west-2');
    expect(keyValues(file('GITHUB_STATE'))).toEqual({ region: 'us-west-2' });
    // The runner hands the post step its state as STATE_<key>.
    process.env.STATE_region = 'eu-west-1';
    expect(rt.getState('region')).toBe('eu-west-1');
    expect(rt.getState('invocation')).toBe('');
  });

  it('appends each summary to GITHUB_STEP_SUMMARY', async () => {
    const rt = actionsRuntime();
    await rt.writeSummary('## Built\n');
    await rt.writeSummary('### Manifests\n');
    expect(file('GITHUB_STEP_SUMMARY')).toBe('## Built\n\n### Manifests\n\n');
  });

  it('writes no summary, and does not fail, where the runner gives no summary file', async () => {
    delete process.env.GITHUB_STEP_SUMMARY;
    const rt = actionsRuntime();
    await expect(rt.writeSummary('## Built\n')).resolves.toBeUndefined();
  });

  it('masks a secret with ::add-mask::', () => {
    actionsRuntime().maskSecret('session-token-value');
    expect(workflowCommands(out)).toEqual([
      { name: 'add-mask', properties: '', data: 'session-token-value' },
    ]);
  });

  it('fails the step with one ::error::, untrusted text in the message forming no command', () => {
    actionsRuntime().setFailed("Input 'images': 'x\n::add-mask::y ##[warning]z' is not an image.");
    expect(process.exitCode).toBe(1);
    const commands = workflowCommands(out);
    expect(commands.map((c) => c.name)).toEqual(['error']);
    expect(commands[0]?.data.replace(/\\/g, '')).toBe(
      "Input 'images': 'x\n::add-mask::y ##[warning]z' is not an image.",
    );
  });

  it('is the process’s environment, the system clock and the command-safe logger', () => {
    const rt = actionsRuntime();
    expect(rt.env).toBe(process.env);
    expect(rt.logger).toBe(actionsLogger);
    expect(Math.abs(rt.clock.now() - Date.now())).toBeLessThan(1_000);
    expect(rt.signal.aborted).toBe(false);
  });
});

describe('cancellationSignal', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    'aborts on %s, saying so once, whatever follows',
    (name) => {
      const signal = cancellationSignal();
      expect(signal.aborted).toBe(false);
      process.emit(name);
      expect(signal.aborted).toBe(true);
      expect((signal.reason as Error).message).toBe(`Cancelled (${name}).`);
      // The runner sends SIGTERM 7.5 s after SIGINT: the step is cancelled already.
      process.emit(name === 'SIGINT' ? 'SIGTERM' : 'SIGINT');
      expect((signal.reason as Error).message).toBe(`Cancelled (${name}).`);
      expect(workflowCommands(out)).toEqual([
        { name: 'warning', properties: '', data: `Received ${name}: cancelling and cleaning up.` },
      ]);
    },
  );
});
