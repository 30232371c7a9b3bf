import { afterEach, describe, expect, it } from '@jest/globals';
import { AbortedError, ActionError } from '../../../../src/core/errors.js';
import {
  STAGING_BRANCH_SUFFIX,
  writeBranch,
} from '../../../../src/cluster-update/pull-request/commit.js';
import { gitBlobSha } from '../../../../src/cluster-update/pull-request/git-data.js';
import {
  BASE_FILES,
  BRANCH,
  closeFake,
  contextFor,
  FULL,
  line,
  NEW_FILES,
  setup,
  TIMEOUT,
  writes,
} from '../../../../test-support/pull-request-repo.js';
import type { GitHubFake } from '../../../../test-support/github-fake.js';
import { rejectionOf } from '../../../../test-support/rejection.js';

afterEach(closeFake);

/** The plan the facade hands writeBranch for NEW_FILES on top of main. */
function planOn(fake: GitHubFake, pullOpen = false, message = 'Use snap-0bbb\n\nImages: nginx') {
  const baseHead = fake.head(FULL, 'main') as string;
  return {
    branch: BRANCH,
    baseHead,
    baseTreeSha: fake.commit(FULL, baseHead).treeSha,
    message,
    files: Object.entries(NEW_FILES).map(([path, content]) => ({
      path,
      content,
      blobSha: gitBlobSha(content),
      mode: '100644',
    })),
    pullOpen,
  };
}

describe('writeBranch', () => {
  it(
    'starts a new branch at the base head and commits on it with createCommitOnBranch',
    async () => {
      const { fake, octokit, logger } = await setup();
      const plan = planOn(fake);
      const sha = await writeBranch(contextFor(octokit, logger), plan);
      expect(fake.head(FULL, BRANCH)).toBe(sha);
      expect(fake.commit(FULL, sha)).toMatchObject({
        via: 'graphql',
        parents: [plan.baseHead],
        verified: true,
      });
      expect(writes(fake.requests).map(line)).toEqual([
        `POST /repos/${FULL}/git/refs`,
        'POST /graphql',
      ]);
      const mutation = writes(fake.requests)[1]?.body as { variables: unknown };
      expect(mutation.variables).toMatchObject({
        input: {
          branch: { repositoryNameWithOwner: FULL, branchName: BRANCH },
          message: { headline: 'Use snap-0bbb', body: 'Images: nginx' },
          expectedHeadOid: plan.baseHead,
        },
      });
      expect(fake.files(FULL, BRANCH)).toEqual({ ...BASE_FILES, ...NEW_FILES });
      expect(logger.text()).toContain(
        `Committed 2 file(s) to '${BRANCH}' as ${sha} with GraphQL createCommitOnBranch (signed by GitHub).`,
      );
    },
    TIMEOUT,
  );

  it(
    'sends a one-line message as the headline alone',
    async () => {
      const { fake, octokit, logger } = await setup();
      await writeBranch(contextFor(octokit, logger), planOn(fake, false, '  Use snap-0bbb\r\n'));
      const mutation = writes(fake.requests)[1]?.body as {
        variables: { input: { message: unknown } };
      };
      expect(mutation.variables.input.message).toEqual({ headline: 'Use snap-0bbb' });
    },
    TIMEOUT,
  );

  it(
    'cancelled during the commit: deletes the staging branch all the same and reports the cancellation, not a GitHub failure',
    async () => {
      const { fake, octokit, logger } = await setup();
      await writeBranch(contextFor(octokit, logger), planOn(fake));
      const cancel = new AbortController();
      const ctx = { ...contextFor(octokit, logger), signal: cancel.signal };
      fake.requests.length = 0;
      fake.onRequest = (request) => {
        if (request.path === '/graphql') cancel.abort(new AbortedError('The run was cancelled.'));
      };
      const error = await rejectionOf(writeBranch(ctx, planOn(fake, true)), AbortedError);
      expect(error.message).toBe('The run was cancelled.');
      const staging = `${BRANCH}${STAGING_BRANCH_SUFFIX}`;
      expect(fake.head(FULL, staging)).toBeUndefined();
      // No fallback to the REST git data API: a cut-off request is no sign GraphQL is missing.
      expect(writes(fake.requests).map(line)).toEqual([
        `POST /repos/${FULL}/git/refs`,
        'POST /graphql',
        `DELETE /repos/${FULL}/git/refs/heads/${staging}`,
      ]);
    },
    TIMEOUT,
  );

  it(
    'builds on a staging branch when a pull request is open, moves the branch in one step and deletes the staging branch',
    async () => {
      const { fake, octokit, logger } = await setup();
      const ctx = contextFor(octokit, logger);
      const first = await writeBranch(ctx, planOn(fake));
      fake.requests.length = 0;
      const sha = await writeBranch(ctx, planOn(fake, true));
      const staging = `${BRANCH}${STAGING_BRANCH_SUFFIX}`;
      expect(STAGING_BRANCH_SUFFIX).toBe('-staging');
      expect(sha).not.toBe(first);
      expect(fake.head(FULL, BRANCH)).toBe(sha);
      expect(fake.head(FULL, staging)).toBeUndefined();
      expect(writes(fake.requests).map(line)).toEqual([
        `POST /repos/${FULL}/git/refs`,
        'POST /graphql',
        `PATCH /repos/${FULL}/git/refs/heads/${BRANCH}`,
        `DELETE /repos/${FULL}/git/refs/heads/${staging}`,
      ]);
      expect(writes(fake.requests)[0]?.body).toEqual({
        ref: `refs/heads/${staging}`,
        sha: fake.head(FULL, 'main'),
      });
    },
    TIMEOUT,
  );

  it(
    'reports a branch that moved while the commit was made',
    async () => {
      const { fake, octokit, logger } = await setup();
      fake.onRequest = (request, f) => {
        if (request.path === '/graphql') f.push(FULL, BRANCH, { 'other.txt': 'x\n' });
      };
      const error = await rejectionOf(writeBranch(contextFor(octokit, logger), planOn(fake)));
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toContain('moved while the commit was being made');
      expect(fake.requests.map(line)).not.toContain(`POST /repos/${FULL}/git/blobs`);
    },
    TIMEOUT,
  );

  it(
    'commits with the REST git data API when GraphQL is not there',
    async () => {
      const { fake, octokit, logger } = await setup({ noGraphql: true });
      const plan = planOn(fake);
      const sha = await writeBranch(contextFor(octokit, logger), plan);
      expect(fake.commit(FULL, sha)).toMatchObject({ via: 'rest', parents: [plan.baseHead] });
      expect(fake.commit(FULL, sha).message).toBe(plan.message);
      expect(fake.head(FULL, BRANCH)).toBe(sha);
      expect(fake.files(FULL, BRANCH)).toEqual({ ...BASE_FILES, ...NEW_FILES });
      expect(logger.messages('warning').join('\n')).toContain(
        'committing with the REST git data API instead',
      );
      expect(logger.text()).toContain(`as ${sha} with the REST git data API.`);
    },
    TIMEOUT,
  );

  it(
    'asks for contents: write when the token cannot push, without trying GraphQL',
    async () => {
      const { fake, octokit, logger } = await setup({ readOnlyContents: true });
      const error = await rejectionOf(writeBranch(contextFor(octokit, logger), planOn(fake)));
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toContain('permissions: contents: write');
      expect(writes(fake.requests).map(line)).toEqual([`POST /repos/${FULL}/git/refs`]);
    },
    TIMEOUT,
  );
});
