import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { actionsLogger } from '../../../src/entry/actions-runtime.js';
import { commandSafe, commandSafeLogger } from '../../../src/core/logger.js';
import { MemoryLogger } from '../../../test-support/memory-logger.js';
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

describe('commandSafe', () => {
  it.each(PAYLOADS)('%j forms no command, and keeps the text readable', (payload) => {
    const safe = commandSafe(`Looked at ${payload}.`);
    expect(workflowCommands(safe)).toEqual([]);
    expect(safe.replace(/\\/g, '')).toBe(`Looked at ${payload}.`.replace(/\r\n?/g, '\n'));
  });

  it('leaves ordinary text alone, line breaks included', () => {
    const text = '2 pulls failed:\n  a (linux/amd64): not found\n  b: 10:30 :: ok';
    expect(commandSafe(text)).toBe(text);
  });
});

describe('the runner-side logger', () => {
  let out = '';
  beforeEach(() => {
    out = '';
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

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

  it('a MemoryLogger behind commandSafeLogger records the safe text', () => {
    const memory = new MemoryLogger();
    commandSafeLogger(memory).info('file\n::warning::x');
    expect(memory.messages('info')).toEqual(['file\n\\::warning::x']);
  });
});
