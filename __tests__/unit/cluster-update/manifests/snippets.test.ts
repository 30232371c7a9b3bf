import { describe, expect, it } from '@jest/globals';
import { parseDocument } from 'yaml';
import { karpenterSnippet } from '../../../../src/cluster-update/manifests/snippets.js';
import { NEW_SNAPSHOT } from './fixture-cases.js';

describe('snippets', () => {
  it('the Karpenter snippet lists both mappings, so the OS volume is not lost', () => {
    const data = parseDocument(karpenterSnippet(NEW_SNAPSHOT, 50)).toJS() as {
      blockDeviceMappings: Array<{ deviceName: string; ebs: Record<string, unknown> }>;
    };
    expect(data.blockDeviceMappings.map((m) => m.deviceName)).toEqual(['/dev/xvda', '/dev/xvdb']);
    expect(data.blockDeviceMappings[1]?.ebs).toMatchObject({
      snapshotID: NEW_SNAPSHOT,
      volumeSize: '50Gi',
    });
  });
});
