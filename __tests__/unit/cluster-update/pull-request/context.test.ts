// src/cluster-update/pull-request/context.ts: the options every Octokit call is made with carry
// the run's signal, so a cancelled run ends its GitHub calls; against the GitHub fake on loopback.
import { afterEach, describe, expect, it } from '@jest/globals';
import { requestOptions } from '../../../../src/cluster-update/pull-request/context.js';
import {
  closeFake,
  contextFor,
  OWNER,
  REPO,
  setup,
  TIMEOUT,
} from '../../../../test-support/pull-request-repo.js';
import { rejectionOf } from '../../../../test-support/rejection.js';

afterEach(closeFake);

describe('requestOptions', () => {
  it(
    'a call made with it goes through while the run goes on',
    async () => {
      const { fake, octokit, logger } = await setup();
      const ctx = contextFor(octokit, logger);
      const { data } = await octokit.rest.repos.get({
        owner: OWNER,
        repo: REPO,
        ...requestOptions(ctx),
      });
      expect(data.full_name).toBe(ctx.full);
      expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toContain(
        `GET /repos/${OWNER}/${REPO}`,
      );
    },
    TIMEOUT,
  );

  it(
    'a call made with it after the run is cancelled ends, and never reaches GitHub',
    async () => {
      const { fake, octokit, logger } = await setup();
      const controller = new AbortController();
      const ctx = { ...contextFor(octokit, logger), signal: controller.signal };
      controller.abort(new Error('Cancelled (SIGINT).'));
      const error = await rejectionOf(
        octokit.rest.repos.get({ owner: OWNER, repo: REPO, ...requestOptions(ctx) }),
      );
      expect(String(error)).toMatch(/abort|Cancelled/i);
      expect(fake.requests).toEqual([]);
    },
    TIMEOUT,
  );
});
