/**
 * The manifests facade (./index.ts): what the rest of the action imports, and the parts of its
 * documented contract that hold whichever module implements them.
 */
import { describe, expect, it } from '@jest/globals';
import { InputError } from '../../../../src/core/errors.js';
import {
  EKSCTL_DEFAULT_VOLUME_GIB,
  KARPENTER_DEFAULT_DATA_GIB,
  ManifestParseError,
  ebsGiBFromQuantity,
  quantityToBytes,
  rewriteManifest,
  validateRewriteOptions,
} from '../../../../src/cluster-update/manifests/index.js';
import { NEW_SNAPSHOT, readFixture } from './fixture-cases.js';

describe('manifests facade', () => {
  it("gives the upstream defaults: eksctl's DefaultNodeVolumeSize, Karpenter's Bottlerocket data volume", () => {
    // eksctl-io/eksctl pkg/apis/eksctl.io/v1alpha5 types.go DefaultNodeVolumeSize = 80;
    // aws/karpenter-provider-aws pkg/providers/amifamily bottlerocket.go /dev/xvdb 20Gi.
    expect(EKSCTL_DEFAULT_VOLUME_GIB).toBe(80);
    expect(KARPENTER_DEFAULT_DATA_GIB).toBe(20);
  });

  it('sizes quantities as documented: 80Gi is 86 GiB for EC2, 80G is 80', () => {
    expect(ebsGiBFromQuantity('80Gi')).toBe(86);
    expect(ebsGiBFromQuantity('80G')).toBe(80);
    expect(quantityToBytes('80Gi')).toBe(80 * 2 ** 30);
  });

  it('validates options alone, naming the action input of a bad value', () => {
    expect(() =>
      validateRewriteOptions({
        snapshotId: NEW_SNAPSHOT,
        requiredSizeGiB: 65536,
        volumeInitializationRate: 100,
      }),
    ).not.toThrow();
    for (const [options, input] of [
      [{ snapshotId: 'snap-0F1E2D3C4B5A69788' }, 'snapshot-id'],
      [{ snapshotId: NEW_SNAPSHOT, requiredSizeGiB: 65537 }, 'volume-size'],
      [{ snapshotId: NEW_SNAPSHOT, volumeInitializationRate: 150.5 }, 'volume-initialization-rate'],
    ] as const) {
      expect(() => validateRewriteOptions(options)).toThrow(InputError);
      expect(() => validateRewriteOptions(options)).toThrow(`Input '${input}'`);
    }
  });

  it('throws a ManifestParseError that is an Error with its name, position and code', () => {
    let thrown: unknown;
    try {
      rewriteManifest('a: [1\n', { snapshotId: NEW_SNAPSHOT });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ManifestParseError);
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).toMatchObject({ name: 'ManifestParseError', line: expect.any(Number) });
    expect((thrown as ManifestParseError).code).toEqual(expect.any(String));
  });

  it('returns the same text, with no changed target, when run again with the same snapshot', () => {
    const first = rewriteManifest(readFixture('eksctl-article.yaml'), { snapshotId: NEW_SNAPSHOT });
    const again = rewriteManifest(first.content, { snapshotId: NEW_SNAPSHOT });
    expect(again.content).toBe(first.content);
    expect(again.targets.map((t) => t.changed)).toEqual([false]);
  });
});
