/** src/distribution/config.ts: the pure checks of the distribution inputs. */
import { describe, expect, it } from '@jest/globals';
import {
  ACCOUNT,
  config,
  EU,
  EU_KEY,
  PARAM,
  SRC,
  USE1,
} from '../../../test-support/distribution.js';
import {
  validateDistributionConfig,
  validateParameterName,
  type DistributionConfig,
} from '../../../src/distribution/index.js';
import { InputError } from '../../../src/core/errors.js';

describe('validateParameterName', () => {
  it.each(['/eks/node-cache/snapshot-id', 'node-cache-snapshot', '/a.b_c-d/e', '/awesome/x'])(
    'accepts %s',
    (name) => {
      expect(() => validateParameterName(name)).not.toThrow();
    },
  );

  it.each<[string, string, RegExp]>([
    ['eks/node-cache', 'eks/node-cache', /must start with '\/'/],
    ['/aws/service/x', '/aws/service/x', /reserves/],
    ['awsThing', 'awsThing', /reserves/],
    ['SSM-param', 'SSM-param', /reserves/],
    ['/ssm/x', '/ssm/x', /reserves/],
    ['/a//b', '/a//b', /empty level/],
    ['/a/b/', '/a/b/', /empty level/],
    ['/a b', '/a b', /letters, digits/],
    ['an empty name', '', /empty/],
    ['16 levels', `/${Array.from({ length: 16 }, () => 'x').join('/')}`, /16 levels/],
    ['1101 characters', `/${'x'.repeat(1100)}`, /longer than 1011/],
  ])('refuses %s', (_label, name, message) => {
    const error = (() => {
      try {
        validateParameterName(name);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).input).toBe('ssm-parameter-name');
    expect((error as Error).message).toMatch(message);
  });
});

describe('validateDistributionConfig', () => {
  it('accepts a full configuration', () => {
    expect(() =>
      validateDistributionConfig(
        config({
          copyToRegions: [EU, USE1],
          kmsKeyIds: { [EU]: EU_KEY, [USE1]: 'alias/snapshots' },
          shareWithAccounts: [ACCOUNT],
          ssmParameterName: PARAM,
          fastSnapshotRestoreAzs: ['us-west-2a', 'us-west-2b'],
        }),
        SRC,
      ),
    ).not.toThrow();
  });

  it.each<[Partial<DistributionConfig>, string, RegExp]>([
    [{ copyToRegions: [SRC] }, 'copy-to-regions', /region the snapshot is built in/],
    [{ copyToRegions: ['europe'] }, 'copy-to-regions', /not an AWS region/],
    [{ kmsKeyIds: { [EU]: EU_KEY } }, 'copy-kms-key-ids', /not in copy-to-regions/],
    [
      { copyToRegions: [USE1], kmsKeyIds: { [USE1]: EU_KEY } },
      'copy-kms-key-ids',
      /key for us-east-1 is in eu-west-1/,
    ],
    [{ shareWithAccounts: ['12345'] }, 'share-with-accounts', /12-digit/],
    [{ ssmParameterName: 'aws-x' }, 'ssm-parameter-name', /reserves/],
    [{ fastSnapshotRestoreAzs: ['eu-west-1a'] }, 'fast-snapshot-restore-azs', /us-west-2/],
    [{ fastSnapshotRestoreAzs: ['us-west-2'] }, 'fast-snapshot-restore-azs', /Availability Zone/],
  ])('refuses %j', (overrides, input, message) => {
    let caught: unknown;
    try {
      validateDistributionConfig(config(overrides), SRC);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).input).toBe(input);
    expect((caught as Error).message).toMatch(message);
  });
});
