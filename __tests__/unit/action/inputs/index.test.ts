// src/action/inputs/index.ts: the mode (build, promotion, janitor), what only the whole set of
// inputs can refuse, and every bad input reported at once.
import { describe, expect, it } from '@jest/globals';
import { InputErrors } from '../../../../src/core/errors.js';
import { parseActionInputs, parseAllActionInputs } from '../../../../src/action/inputs/index.js';
import { BASE, readerOf, refusalOf } from '../../../../test-support/action-inputs.js';

function parseAction(inputs: Record<string, string>) {
  return parseActionInputs(readerOf(inputs)).config;
}

describe('parseActionInputs', () => {
  it('builds without manifest updates by default', () => {
    const config = parseAction({});
    expect(config.build?.images).toHaveLength(1);
    expect(config.update).toBeUndefined();
    expect(config.aws.region).toBe('us-west-2');
  });

  it('promotes an existing snapshot when snapshot-id is given', () => {
    const config = parseAction({
      images: '',
      'snapshot-id': 'snap-0123456789abcdef0',
      'update-files': 'clusters/*.yaml',
    });
    expect(config.build).toBeUndefined();
    expect(config.snapshotId).toBe('snap-0123456789abcdef0');
    expect(config.update?.patterns).toEqual(['clusters/*.yaml']);
  });

  it('lets a promotion only distribute', () => {
    const config = parseAction({
      images: '',
      'snapshot-id': 'snap-0123456789abcdef0',
      'copy-to-regions': 'eu-west-1',
    });
    expect(config.distribution.copyToRegions).toEqual(['eu-west-1']);
    expect(config.update).toBeUndefined();
  });

  it.each([
    [{ images: '', 'snapshot-id': 'snap-1' }, 'snapshot-id', 'is not a snapshot ID'],
    [
      { 'snapshot-id': 'snap-0123456789abcdef0', 'update-files': 'a.yaml' },
      'snapshot-id',
      "together with 'images'",
    ],
    [
      { images: '', 'snapshot-id': 'snap-0123456789abcdef0' },
      'snapshot-id',
      'nothing to do with the snapshot',
    ],
    [
      { 'share-with-accounts': '210987654321', encrypted: 'true' },
      'share-with-accounts',
      'cannot be shared',
    ],
    [
      {
        images: '',
        'snapshot-id': 'snap-0123456789abcdef0',
        'update-files': 'a.yaml',
        'keep-snapshots': '2',
      },
      'keep-snapshots',
      'applies to builds',
    ],
  ])('refuses %j naming the input', (inputs, input, text) => {
    const error = refusalOf(() => parseAction(inputs));
    expect(error.input).toBe(input);
    expect(error.message).toContain(text);
  });
});

describe('parseAllActionInputs', () => {
  const all = (inputs: Record<string, string>, base = BASE) => {
    const get = readerOf(inputs, base);
    return () => parseAllActionInputs(get);
  };

  it('reports every bad input at once, each named, in one error', () => {
    const error = refusalOf(
      all({
        images: 'busybox:1; rm -rf /',
        'volume-size': '5',
        platforms: 'windows/amd64',
        'pull-concurrency': '900',
      }),
    );
    expect(error).toBeInstanceOf(InputErrors);
    const names = (error as InputErrors).errors.map((e) => e.input).sort();
    expect(names).toEqual(['images', 'platforms', 'pull-concurrency', 'volume-size']);
    expect(error.message).toMatch(/^4 inputs are wrong:\n- Input '/);
    for (const name of names) expect(error.message).toContain(`- Input '${name}':`);
  });

  it('reports a missing required input with the others', () => {
    const error = refusalOf(all({ 'volume-size': '5' }, { images: 'busybox' }));
    const names = (error as InputErrors).errors.map((e) => e.input).sort();
    expect(names).toEqual(['aws-region', 'instance-profile', 'volume-size']);
  });

  it('reports one bad input exactly as before', () => {
    const one = refusalOf(all({ 'volume-size': '5' }));
    expect(one).not.toBeInstanceOf(InputErrors);
    expect(one.message).toBe(refusalOf(() => parseAction({ 'volume-size': '5' })).message);
  });

  it('adds no error that only the stand-in of another caused (promotion stays promotion)', () => {
    const error = refusalOf(all({ images: '', 'snapshot-id': 'snap-nope' }));
    expect(error.input).toBe('snapshot-id');
    expect(error).not.toBeInstanceOf(InputErrors);
  });

  it('passes good inputs through unchanged', () => {
    expect(all({})().config).toEqual(parseAction({}));
  });
});
