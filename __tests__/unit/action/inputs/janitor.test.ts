// src/action/inputs/janitor.ts: cleanup-older-than alone, where and how old.
import { describe, expect, it } from '@jest/globals';
import { parseActionInputs } from '../../../../src/action/inputs/index.js';
import { readerOf, refusalOf } from '../../../../test-support/action-inputs.js';

/** Janitor mode is chosen by parseActionInputs (index.ts); what it reads is janitor.ts's. */
function parseAction(inputs: Record<string, string>) {
  return parseActionInputs(readerOf(inputs)).config;
}

describe('janitor inputs', () => {
  it('reads janitor mode: cleanup-older-than alone, in aws-region and copy-to-regions', () => {
    const config = parseAction({
      images: '',
      'cleanup-older-than': '6h',
      'copy-to-regions': 'eu-west-1, us-west-2',
    });
    expect(config.build).toBeUndefined();
    expect(config.janitor).toEqual({
      olderThanMs: 6 * 3_600_000,
      regions: ['us-west-2', 'eu-west-1'],
    });
    expect(parseAction({ images: '', 'cleanup-older-than': '2d' }).janitor?.olderThanMs).toBe(
      2 * 86_400_000,
    );
  });

  it.each([
    [{ 'cleanup-older-than': '6h' }, "remove 'images'"],
    [{ images: '', 'cleanup-older-than': '30m' }, 'is under an hour'],
    [{ images: '', 'cleanup-older-than': 'soon' }, 'is not an age like 90m, 6h or 2d'],
    [{ images: '', 'cleanup-older-than': '6h', 'update-files': 'a.yaml' }, "remove 'update-files'"],
  ])('refuses janitor inputs %j', (inputs, text) => {
    const error = refusalOf(() => parseAction(inputs));
    expect(error.input).toBe('cleanup-older-than');
    expect(error.message).toContain(text);
  });
});
