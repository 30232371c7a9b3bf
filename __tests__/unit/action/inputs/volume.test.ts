// src/action/inputs/volume.ts: the builder's data volume, with EBS's limits per type.
import { describe, expect, it } from '@jest/globals';
import { parseVolume } from '../../../../src/action/inputs/volume.js';
import { readerOf, refusalOf } from '../../../../test-support/action-inputs.js';

function parse(inputs: Record<string, string>) {
  return parseVolume(readerOf(inputs));
}

describe('parseVolume', () => {
  it('sizes gp3 performance to the volume and accepts io2 with IOPS', () => {
    expect(parse({ 'volume-size': '20' })).toMatchObject({
      iops: 10000,
      throughput: 1000,
    });
    expect(parse({ 'volume-type': 'io2', 'volume-iops': '16000' })).toEqual({
      sizeGiB: 50,
      type: 'io2',
      iops: 16000,
      encrypted: false,
    });
    expect(parse({ 'kms-key-id': 'alias/ebs' })).toMatchObject({
      encrypted: true,
      kmsKeyId: 'alias/ebs',
    });
  });

  it.each([
    [{ 'volume-size': '10' }, 'volume-size', 'between 20 and 16384'],
    [{ 'volume-size': '50GiB' }, 'volume-size', 'whole number'],
    [{ 'volume-type': 'st1' }, 'volume-type', 'gp3, gp2, io1, io2'],
    [{ 'volume-iops': '2000' }, 'volume-iops', '3000 to 25000'],
    [{ 'volume-iops': '4000', 'volume-throughput': '1001' }, 'volume-throughput', 'at most 0.25'],
    [{ 'volume-type': 'gp2', 'volume-iops': '3000' }, 'volume-iops', 'gp2'],
    [{ 'volume-type': 'io2' }, 'volume-iops', 'need provisioned IOPS'],
    [{ 'kms-key-id': 'my key' }, 'kms-key-id', "'my key'"],
    [{ 'kms-key-id': 'alias/x', encrypted: 'false' }, 'encrypted', "'kms-key-id' is set"],
  ])('refuses %j naming the input', (inputs, input, text) => {
    const error = refusalOf(() => parse(inputs));
    expect(error.input).toBe(input);
    expect(error.message).toContain(`Input '${input}'`);
    expect(error.message).toContain(text);
  });
});
