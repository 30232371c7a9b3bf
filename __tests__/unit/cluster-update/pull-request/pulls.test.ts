import { afterEach, describe, expect, it } from '@jest/globals';
import { ActionError } from '../../../../src/core/errors.js';
import {
  addLabels,
  createPull,
  findOpenPull,
  syncMetadata,
} from '../../../../src/cluster-update/pull-request/pulls.js';
import {
  BRANCH,
  closeFake,
  contextFor,
  FULL,
  line,
  setup,
  TIMEOUT,
  writes,
} from '../../../../test-support/pull-request-repo.js';
import { rejectionOf } from '../../../../test-support/rejection.js';

afterEach(closeFake);

const FIELDS = { branch: BRANCH, base: 'main', title: 'Use snap-0bbb', body: 'Body.' };

/** The fake with BRANCH pushed (one commit on main), so a pull request can be opened on it. */
async function withBranch(init: Parameters<typeof setup>[0] = {}) {
  const run = await setup({
    repos: [
      {
        owner: 'acme',
        name: 'infra',
        files: { 'README.md': '# infra\n' },
        branches: { [BRANCH]: { 'a.txt': 'a\n' }, release: {} },
      },
    ],
    ...init,
  });
  return { ...run, ctx: contextFor(run.octokit, run.logger) };
}

describe('createPull', () => {
  it(
    'opens the pull request, as a draft when asked',
    async () => {
      const { fake, ctx } = await withBranch();
      const { pull, created } = await createPull(ctx, FIELDS, true);
      expect(created).toBe(true);
      expect(pull).toMatchObject({
        number: 1,
        url: `https://github.com/${FULL}/pull/1`,
        title: 'Use snap-0bbb',
        body: 'Body.',
        base: 'main',
        headSha: fake.head(FULL, BRANCH),
        labels: [],
      });
      expect(fake.repo(FULL).pulls[0]).toMatchObject({ draft: true, head: BRANCH });
    },
    TIMEOUT,
  );

  it(
    'explains how to let GitHub Actions create pull requests',
    async () => {
      const { fake, ctx } = await withBranch({ forbidPullRequestCreation: true });
      const error = await rejectionOf(createPull(ctx, FIELDS, false));
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toContain(
        'Settings > Actions > General > Workflow permissions > "Allow GitHub Actions to create and approve pull requests"',
      );
      expect(error.message).toContain('github-token');
      // One attempt: 4xx answers are never retried.
      expect(fake.requests.filter((r) => line(r) === `POST /repos/${FULL}/pulls`)).toHaveLength(1);
    },
    TIMEOUT,
  );

  it(
    'asks for pull-requests: write when the token cannot open pull requests',
    async () => {
      const { ctx } = await withBranch({ readOnlyPulls: true });
      const error = await rejectionOf(createPull(ctx, FIELDS, false));
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toContain('permissions: pull-requests: write');
    },
    TIMEOUT,
  );

  it(
    'updates the pull request another run opened between lookup and create',
    async () => {
      const { fake, ctx, logger } = await withBranch();
      fake.onRequest = (request, f) => {
        if (request.method === 'POST' && request.path === `/repos/${FULL}/pulls`) {
          fake.onRequest = undefined;
          f.openPull(FULL, { head: BRANCH, base: 'main', title: 'Other run' });
        }
      };
      const { pull, created } = await createPull(ctx, FIELDS, false);
      expect(created).toBe(false);
      expect(pull.number).toBe(1);
      expect(fake.repo(FULL).pulls).toHaveLength(1);
      expect(fake.repo(FULL).pulls[0]).toMatchObject({ title: 'Use snap-0bbb', body: 'Body.' });
      expect(fake.requests.map(line)).toEqual([
        `POST /repos/${FULL}/pulls`,
        `GET /repos/${FULL}/pulls`,
        `PATCH /repos/${FULL}/pulls/1`,
      ]);
      expect(logger.text()).toContain(
        `A pull request for '${BRANCH}' was opened concurrently; updating it.`,
      );
    },
    TIMEOUT,
  );
});

describe('findOpenPull', () => {
  it(
    'finds none, then the one on the base asked for, warning when the branch has several',
    async () => {
      const { fake, ctx, logger } = await withBranch();
      expect(await findOpenPull(ctx, BRANCH, 'main')).toBeUndefined();
      expect(fake.requests[0]?.query).toMatchObject({
        state: 'open',
        head: `acme:${BRANCH}`,
        per_page: '100',
      });
      fake.openPull(FULL, { head: BRANCH, base: 'release', title: 'On release' });
      fake.openPull(FULL, { head: BRANCH, base: 'main', title: 'On main' });
      const open = await findOpenPull(ctx, BRANCH, 'main');
      expect(open).toMatchObject({ number: 2, title: 'On main', base: 'main' });
      expect(logger.messages('warning')).toEqual([
        `2 open pull requests use branch '${BRANCH}'; updating #2.`,
      ]);
    },
    TIMEOUT,
  );
});

describe('syncMetadata and addLabels', () => {
  it(
    'change only what differs, and add only the labels missing (in any case)',
    async () => {
      const { fake, ctx, logger } = await withBranch();
      fake.openPull(FULL, {
        head: BRANCH,
        base: 'main',
        title: 'Use snap-0bbb',
        body: 'Body.\r\nMore.',
        labels: ['Automated'],
      });
      const open = await findOpenPull(ctx, BRANCH, 'main');
      if (!open) throw new Error('no pull request');
      fake.requests.length = 0;
      const same = { title: 'Use snap-0bbb', body: 'Body.\nMore.', base: 'main' };
      expect(await syncMetadata(ctx, open, same, ['automated'])).toBe(false);
      expect(fake.requests).toEqual([]);

      const changed = await syncMetadata(ctx, open, { ...same, base: 'release' }, ['snapshot']);
      expect(changed).toBe(true);
      expect(writes(fake.requests).map((r) => [line(r), r.body])).toEqual([
        [`PATCH /repos/${FULL}/pulls/1`, { base: 'release' }],
        [`POST /repos/${FULL}/issues/1/labels`, { labels: ['snapshot'] }],
      ]);
      expect(logger.text()).toContain('Updated the base of pull request #1.');
      expect(logger.text()).toContain('Added label(s) snapshot to pull request #1.');
      expect(await addLabels(ctx, 1, ['SNAPSHOT'], ['snapshot'])).toBe(false);
    },
    TIMEOUT,
  );

  it(
    'asks for pull-requests: write when labels cannot be added',
    async () => {
      const { ctx } = await withBranch({ readOnlyPulls: true });
      const error = await rejectionOf(addLabels(ctx, 1, ['x'], []));
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toContain('add labels to pull request #1');
      expect(error.message).toContain('permissions: pull-requests: write');
    },
    TIMEOUT,
  );
});
