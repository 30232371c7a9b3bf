// src/action/inputs/tags.ts: the user's tags, within EC2's rules and what the action leaves free.
import { describe, expect, it } from '@jest/globals';
import { parseTags } from '../../../../src/action/inputs/tags.js';
import { refusalOf } from '../../../../test-support/action-inputs.js';

describe('parseTags', () => {
  it('refuses reserved prefixes and too many tags', () => {
    expect(() => parseTags('aws:createdBy=me')).toThrow("reserved prefix 'aws:'");
    expect(() => parseTags('bottlerocket-ebs-snapshot:run=x')).toThrow(
      'that the action sets itself',
    );
    expect(() => parseTags(Array.from({ length: 35 }, (_, i) => `k${i}=v`).join('\n'))).toThrow(
      'at most 34 tags',
    );
    expect(
      Object.keys(parseTags(Array.from({ length: 34 }, (_, i) => `k${i}=v`).join('\n'))),
    ).toHaveLength(34);
    expect(() => parseTags(`k=${'v'.repeat(257)}`)).toThrow('not a valid EC2 tag value');
  });

  it.each([[{ tags: 'novalue' }, 'tags', 'is not key=value']])(
    'refuses %j naming the input',
    (inputs, input, text) => {
      const error = refusalOf(() => parseTags(inputs.tags));
      expect(error.input).toBe(input);
      expect(error.message).toContain(`Input '${input}'`);
      expect(error.message).toContain(text);
    },
  );
});
