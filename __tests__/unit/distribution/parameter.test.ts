/** src/distribution/parameter.ts: the SSM parameter that names the region's snapshot. */
import { afterEach, describe, expect, it } from '@jest/globals';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import {
  config,
  deps,
  PARAM,
  restoreWorld,
  setup,
  SNAP,
  SRC,
  stub,
} from '../../../test-support/distribution.js';
import { distributeSnapshot } from '../../../src/distribution/index.js';
import { rejectionOf } from '../../../test-support/rejection.js';

afterEach(restoreWorld);

describe('distributeSnapshot: the SSM parameter', () => {
  it('names the permission when PutParameter is denied', async () => {
    const w = setup();
    stub(w.ssm[SRC])
      .on(PutParameterCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const { deps: d } = deps(w);
    const error = await rejectionOf(
      distributeSnapshot(SNAP, SRC, config({ ssmParameterName: PARAM }), d),
    );
    expect(error.message).toMatch(
      /Writing SSM parameter \/eks\/node-cache\/snapshot-id in us-west-2 failed .*ssm:PutParameter on arn:aws:ssm:us-west-2:<account>:parameter\/eks\/node-cache\/snapshot-id/,
    );
  });
});
