/**
 * The tags on everything the action creates: values within EC2's limit, the run's own tags
 * that a user tag cannot replace, and the finished-build state later runs rely on.
 */
import { describe, expect, it } from '@jest/globals';
import {
  buildFinished,
  invocationTags,
  RESERVED_TAG_PREFIX,
  runTags,
  STATE_BUILDING,
  STATE_COMPLETE,
  TAG_BUILD_KEY,
  TAG_ENCRYPTION,
  TAG_INVOCATION,
  TAG_LINEAGE,
  TAG_REPOSITORY,
  TAG_RUN,
  TAG_STATE,
  tagSpecifications,
  tagValue,
  toTagList,
} from '../../../src/aws/tags.js';
import type { RunContext } from '../../../src/config/run-context.js';

const context: RunContext = {
  repository: 'acme/platform',
  runId: '4242',
  runAttempt: '2',
  serverUrl: 'https://github.com',
  oidcAvailable: true,
};

describe('the reserved tag keys', () => {
  it('all start with the reserved prefix', () => {
    expect(RESERVED_TAG_PREFIX).toBe('bottlerocket-ebs-snapshot:');
    for (const key of [TAG_RUN, TAG_INVOCATION, TAG_REPOSITORY, TAG_BUILD_KEY, TAG_LINEAGE]) {
      expect(key.startsWith(RESERVED_TAG_PREFIX)).toBe(true);
    }
    // Other tools and the IAM policy search by these exact keys.
    expect(TAG_RUN).toBe('bottlerocket-ebs-snapshot:run');
    expect(TAG_ENCRYPTION).toBe('bottlerocket-ebs-snapshot:encryption');
    expect(TAG_STATE).toBe('bottlerocket-ebs-snapshot:state');
  });
});

describe('tagValue', () => {
  it('keeps a value of up to 256 characters as it is', () => {
    expect(tagValue('')).toBe('');
    expect(tagValue('acme/platform')).toBe('acme/platform');
    const limit = 'x'.repeat(256);
    expect(tagValue(limit)).toBe(limit);
  });

  it('cuts a longer value to 256 characters, the last one marking the cut', () => {
    const cut = tagValue(`${'a'.repeat(255)}bc`);
    expect(cut).toHaveLength(256);
    expect(cut).toBe(`${'a'.repeat(255)}…`);
    expect(tagValue('y'.repeat(10_000))).toBe(`${'y'.repeat(255)}…`);
  });
});

describe('invocationTags', () => {
  it('is the run tag alone when the invocation is unknown', () => {
    expect(invocationTags(context)).toEqual({ [TAG_RUN]: 'acme/platform/4242/2' });
  });

  it('adds the invocation tag when known', () => {
    expect(invocationTags({ ...context, invocation: '0123456789ab' })).toEqual({
      [TAG_RUN]: 'acme/platform/4242/2',
      [TAG_INVOCATION]: '0123456789ab',
    });
  });

  it('keeps the run tag within the limit for a very long repository name', () => {
    const long = { ...context, repository: `acme/${'r'.repeat(300)}` };
    expect(invocationTags(long)[TAG_RUN]).toHaveLength(256);
  });
});

describe('runTags', () => {
  it('is the user’s tags with the run, the invocation and the repository', () => {
    expect(runTags({ ...context, invocation: 'abc' }, { team: 'infra', cost: '42' })).toEqual({
      team: 'infra',
      cost: '42',
      [TAG_RUN]: 'acme/platform/4242/2',
      [TAG_INVOCATION]: 'abc',
      [TAG_REPOSITORY]: 'acme/platform',
    });
  });

  it('never lets a user tag replace one the post step searches by', () => {
    const tags = runTags(context, {
      [TAG_RUN]: 'someone/else/1/1',
      [TAG_REPOSITORY]: 'someone/else',
    });
    expect(tags[TAG_RUN]).toBe('acme/platform/4242/2');
    expect(tags[TAG_REPOSITORY]).toBe('acme/platform');
  });

  it('cuts a repository name longer than a tag value', () => {
    const tags = runTags({ ...context, repository: `acme/${'r'.repeat(300)}` }, {});
    expect(tags[TAG_REPOSITORY]).toHaveLength(256);
    expect(tags[TAG_REPOSITORY]?.endsWith('…')).toBe(true);
  });
});

describe('toTagList and tagSpecifications', () => {
  it('lists the tags as EC2 takes them, in order', () => {
    expect(toTagList({ b: '2', a: '1' })).toEqual([
      { Key: 'b', Value: '2' },
      { Key: 'a', Value: '1' },
    ]);
    expect(toTagList({})).toEqual([]);
  });

  it('gives each resource type the same tags', () => {
    const specs = tagSpecifications(['instance', 'volume'], { a: '1' });
    expect(specs).toEqual([
      { ResourceType: 'instance', Tags: [{ Key: 'a', Value: '1' }] },
      { ResourceType: 'volume', Tags: [{ Key: 'a', Value: '1' }] },
    ]);
    // Separate lists: a change to one resource's tags is not a change to another's.
    expect(specs[0]?.Tags).not.toBe(specs[1]?.Tags);
  });
});

describe('buildFinished', () => {
  it('is false only for a snapshot still tagged as building', () => {
    expect(buildFinished({ Tags: [{ Key: TAG_STATE, Value: STATE_BUILDING }] })).toBe(false);
    expect(buildFinished({ Tags: [{ Key: TAG_STATE, Value: STATE_COMPLETE }] })).toBe(true);
  });

  it('counts a snapshot without the state tag (made before it existed) as finished', () => {
    expect(buildFinished({})).toBe(true);
    expect(buildFinished({ Tags: [] })).toBe(true);
    expect(buildFinished({ Tags: [{ Key: TAG_LINEAGE, Value: STATE_BUILDING }] })).toBe(true);
  });
});
