import { describe, expect, it } from '@jest/globals';
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

describe('commandSafeLogger', () => {
  it('a MemoryLogger behind commandSafeLogger records the safe text', () => {
    const memory = new MemoryLogger();
    commandSafeLogger(memory).info('file\n::warning::x');
    expect(memory.messages('info')).toEqual(['file\n\\::warning::x']);
  });
});
