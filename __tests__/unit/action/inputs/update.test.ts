// src/action/inputs/update.ts: the manifests to rewrite and the pull request to open.
import { describe, expect, it } from '@jest/globals';
import { parseUpdateInputs } from '../../../../src/action/inputs/update.js';
import { readerOf, refusalOf } from '../../../../test-support/action-inputs.js';

function parse(inputs: Record<string, string>) {
  return parseUpdateInputs(readerOf(inputs));
}

describe('parseUpdateInputs', () => {
  it('reads nothing to update by default', () => {
    expect(parse({})).toBeUndefined();
  });

  it('reads the pull request shape, with a branch fixed by the configuration', () => {
    const inputs = {
      'update-files': 'clusters/**/*.yaml\n# a comment\nkarpenter/*.yaml',
      'update-targets': 'prefetch-mng, bottlerocket',
      'create-pull-request': 'true',
      'github-token': 'ghs_x',
      'pull-request-labels': 'a,b',
      'pull-request-draft': 'true',
      'volume-initialization-rate': '200',
    };
    const a = parse(inputs);
    const b = parse(inputs);
    expect(a?.patterns).toEqual(['clusters/**/*.yaml', 'karpenter/*.yaml']);
    expect(a?.targets).toEqual(['prefetch-mng', 'bottlerocket']);
    expect(a?.volumeInitializationRate).toBe(200);
    expect(a?.maxFileBytes).toBe(4 * 1024 * 1024);
    expect(parse({ ...inputs, 'update-files-max-size': '16' })?.maxFileBytes).toBe(
      16 * 1024 * 1024,
    );
    expect(a?.pullRequest).toMatchObject({ token: 'ghs_x', labels: ['a', 'b'], draft: true });
    expect(a?.pullRequest?.branch).toMatch(/^bottlerocket-ebs-snapshot\/update-[0-9a-f]{8}$/);
    expect(b?.pullRequest?.branch).toBe(a?.pullRequest?.branch);
    expect(parse({ ...inputs, 'update-targets': 'other' })?.pullRequest?.branch).not.toBe(
      a?.pullRequest?.branch,
    );
  });

  it.each([
    [{ 'create-pull-request': 'true' }, 'create-pull-request', "'update-files' lists no file"],
    [{ 'update-targets': 'x' }, 'update-targets', "needs 'update-files'"],
    [
      { 'update-files': 'a.yaml', 'volume-initialization-rate': '50' },
      'volume-initialization-rate',
      'between 100 and 300',
    ],
    [{ 'update-files': '../outside/prod.yaml' }, 'update-files', "contains a '..' segment"],
    [{ 'update-files': 'a.yaml\n/etc/passwd' }, 'update-files', 'is an absolute path'],
    [{ 'update-files': '!../x/*.yaml' }, 'update-files', "contains a '..' segment"],
    [
      { 'update-files': 'a.yaml', 'update-files-max-size': '1024' },
      'update-files-max-size',
      'between 1 and 256',
    ],
    [{ 'update-files': 'a.yaml', 'create-pull-request': 'true' }, 'github-token', 'is required'],
    [
      { 'update-files': 'a.yaml', 'create-pull-request': 'yes please' },
      'create-pull-request',
      'true or false',
    ],
    [
      {
        'update-files': 'a.yaml',
        'create-pull-request': 'true',
        'github-token': 't',
        'pull-request-branch': 'bad..name',
      },
      'pull-request-branch',
      'not a valid branch',
    ],
    [
      {
        'update-files': 'a.yaml',
        'create-pull-request': 'true',
        'github-token': 't',
        'pull-request-base': 'has space',
      },
      'pull-request-base',
      'not a valid branch',
    ],
  ])('refuses %j naming the input', (inputs, input, text) => {
    const error = refusalOf(() => parse(inputs));
    expect(error.input).toBe(input);
    expect(error.message).toContain(text);
  });
});
