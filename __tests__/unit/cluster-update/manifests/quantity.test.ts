/**
 * Kubernetes resource quantities as Karpenter reads ebs.volumeSize (./quantity.ts), and the EBS
 * size they turn into: Karpenter sends volumeSize.ScaledValue(resource.Giga) to EC2
 * (aws/karpenter-provider-aws pkg/providers/launchtemplate), the bytes / 10^9 rounded up.
 */
import { describe, expect, it } from '@jest/globals';
import {
  ebsGiBFromQuantity,
  quantityToBytes,
} from '../../../../src/cluster-update/manifests/quantity.js';

describe('quantities', () => {
  it.each([
    ['80Gi', 80 * 2 ** 30],
    ['100G', 100e9],
    ['1Ti', 2 ** 40],
    ['1T', 1e12],
    ['512Mi', 512 * 2 ** 20],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['1e9', 1e9],
    ['85899345920', 85899345920],
    [85899345920, 85899345920],
  ] as Array<[string | number, number]>)('%s is %d bytes', (text, bytes) => {
    expect(quantityToBytes(text)).toBe(bytes);
  });
  it.each(['', 'lots', '-1Gi', '10m', '10 Gi', '10gi'])('%j is not understood', (text) => {
    expect(quantityToBytes(text)).toBeUndefined();
  });
  it('computes the EBS size Karpenter requests: bytes / 10^9 rounded up', () => {
    expect(ebsGiBFromQuantity('80Gi')).toBe(86);
    expect(ebsGiBFromQuantity('80G')).toBe(80);
    expect(ebsGiBFromQuantity('4Gi')).toBe(5);
    expect(ebsGiBFromQuantity('1Ti')).toBe(1100);
    expect(ebsGiBFromQuantity('nope')).toBeUndefined();
  });
});

describe('quantityToBytes', () => {
  it('reads binary (Gi, Ti) and decimal (G, T) suffixes with their own bases', () => {
    expect(quantityToBytes('20Gi')).toBe(20 * 1024 ** 3);
    expect(quantityToBytes('20G')).toBe(20 * 1000 ** 3);
    expect(quantityToBytes('2Ti')).toBe(2 * 1024 ** 4);
    expect(quantityToBytes('2T')).toBe(2 * 1000 ** 4);
    expect(quantityToBytes('1Ki')).toBe(1024);
    expect(quantityToBytes('1k')).toBe(1000);
    expect(quantityToBytes('1Pi')).toBe(1024 ** 5);
    expect(quantityToBytes('1E')).toBe(1e18);
  });

  it('reads the number forms Kubernetes accepts: a leading +, .5, 5., exponents', () => {
    expect(quantityToBytes('+20Gi')).toBe(20 * 2 ** 30);
    expect(quantityToBytes('.5Gi')).toBe(2 ** 29);
    expect(quantityToBytes('5.Gi')).toBe(5 * 2 ** 30);
    expect(quantityToBytes('2e9')).toBe(2e9);
    expect(quantityToBytes('2E+9')).toBe(2e9);
    expect(quantityToBytes('2000e-3')).toBe(2);
  });

  it('ignores surrounding whitespace, as YAML values may carry it', () => {
    expect(quantityToBytes('  20Gi ')).toBe(20 * 2 ** 30);
  });

  it.each([
    ['a suffix Kubernetes does not have', '20GB'],
    ['a lower-case binary suffix', '20gi'],
    ['an upper-case K (kilo is k)', '1K'],
    ['a milli unit', '500m'],
    ['a negative number', '-20Gi'],
    ['two suffixes', '1GiMi'],
    ['a suffix and an exponent', '1e3Gi'],
    ['a bare suffix', 'Gi'],
    ['a comma', '1,5Gi'],
    ['too large to be a number', '1e400'],
  ])('rejects %s: %j', (_what, text) => {
    expect(quantityToBytes(text)).toBeUndefined();
  });

  it('takes a YAML number as bytes, and refuses a negative or infinite one', () => {
    expect(quantityToBytes(21474836480)).toBe(21474836480);
    expect(quantityToBytes(0)).toBe(0);
    expect(quantityToBytes(-1)).toBeUndefined();
    expect(quantityToBytes(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(quantityToBytes(Number.NaN)).toBeUndefined();
  });
});

describe('ebsGiBFromQuantity', () => {
  it.each([
    // [volumeSize, GiB EC2 is asked for]
    ['20Gi', 22], // 21.47 * 10^9 bytes
    ['20G', 20],
    ['100Gi', 108], // 107.37
    ['93G', 93],
    ['1T', 1000],
    ['2Ti', 2200], // 2199.02
    ['1.5G', 2],
    ['1G', 1],
    ['1', 1], // one byte still needs a whole GiB
  ])('%s asks EC2 for %i GiB', (text, gib) => {
    expect(ebsGiBFromQuantity(text)).toBe(gib);
  });

  it('does not round a whole number of 10^9 bytes up through float noise', () => {
    // 0.27 * 10^12 is 270000000000.00003 in floating point: still 270, not 271.
    expect(ebsGiBFromQuantity('0.27T')).toBe(270);
    expect(ebsGiBFromQuantity('80000000000')).toBe(80);
  });

  it('is undefined for text that is not a quantity', () => {
    expect(ebsGiBFromQuantity('20GB')).toBeUndefined();
    expect(ebsGiBFromQuantity(-5)).toBeUndefined();
  });
});
