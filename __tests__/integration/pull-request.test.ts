import { afterEach, describe, expect, it } from '@jest/globals';
import { ActionError } from '../../src/core/errors.js';
import { MemoryLogger } from '../../test-support/memory-logger.js';
import {
  createOrUpdatePullRequest,
  STAGING_BRANCH_SUFFIX,
} from '../../src/cluster-update/pull-request/index.js';
import {
  BASE_FILES,
  BRANCH,
  changes,
  closeFake,
  FULL,
  line,
  NEW_FILES,
  NEWER_FILES,
  OWNER,
  pr,
  REPO,
  setup,
  signal,
  TIMEOUT,
  TOKEN,
  writes,
} from '../../test-support/pull-request-repo.js';
import { rejectionOf } from '../../test-support/rejection.js';

// End to end through the facade against the GitHub fake; each part's own cases are in
// __tests__/unit/cluster-update/pull-request/.

afterEach(closeFake);

describe('createOrUpdatePullRequest', () => {
  it(
    'never points an existing branch at the base head (a pull request on it would be closed), even with no pull request open',
    async () => {
      // A branch left from an earlier, closed pull request; an overlapping run may open one on it.
      const { fake, octokit, logger } = await setup({
        repos: [
          {
            owner: OWNER,
            name: REPO,
            files: BASE_FILES,
            branches: { [BRANCH]: { 'old.txt': 'left over\n' } },
          },
        ],
      });
      const baseHead = fake.head(FULL, 'main') as string;
      const result = await createOrUpdatePullRequest(pr(), { octokit, logger, signal });
      expect(result.operation).toBe('created');
      const branchWrites = fake.requests.filter(
        (r) =>
          r.method !== 'GET' &&
          (r.path.endsWith(`/git/refs/heads/${BRANCH}`) ||
            (r.path.endsWith('/git/refs') &&
              (r.body as { ref?: string }).ref === `refs/heads/${BRANCH}`)),
      );
      expect(branchWrites.length).toBeGreaterThan(0);
      for (const write of branchWrites) {
        expect((write.body as { sha?: string }).sha).not.toBe(baseHead);
      }
      expect(fake.files(FULL, BRANCH)).toEqual({ ...BASE_FILES, ...NEW_FILES });
      expect(fake.head(FULL, `${BRANCH}${STAGING_BRANCH_SUFFIX}`)).toBeUndefined();
    },
    TIMEOUT,
  );

  it(
    'flags an open pull request as no longer needed when the base already has the content',
    async () => {
      const { fake, octokit, logger } = await setup();
      await createOrUpdatePullRequest(pr(), { octokit, logger: new MemoryLogger(), signal });
      // The same change reached main some other way: the pull request would now do nothing.
      fake.push(FULL, 'main', NEW_FILES, 'Point the nodes at snap-0bbb by hand');
      const result = await createOrUpdatePullRequest(pr({ files: [] }), {
        octokit,
        logger,
        signal,
      });
      expect(result).toMatchObject({ operation: 'unchanged', number: 1 });
      expect(logger.messages('warning').join('\n')).toContain(
        "already has the new content on 'main', so pull request #1",
      );
    },
    TIMEOUT,
  );

  it(
    'makes the change to the base branch version when the base moved on since the checkout, never reverting it',
    async () => {
      const { fake, octokit, logger } = await setup();
      // Someone merged an edit to the node class while the snapshot was being built.
      const merged = 'kind: EC2NodeClass\n# reviewed by the platform team\nsnapshotID: snap-0aaa\n';
      fake.push(FULL, 'main', { 'karpenter/nodeclass.yaml': merged }, 'Edit the node class');
      const reapply = (text: string) => text.replace('snap-0aaa', 'snap-0bbb');
      const files = Object.entries(NEW_FILES).map(([path, content]) => ({
        path,
        content,
        original: BASE_FILES[path as keyof typeof BASE_FILES],
        reapply,
      }));
      const result = await createOrUpdatePullRequest(pr({ files }), { octokit, logger, signal });
      expect(result.operation).toBe('created');
      expect(fake.files(FULL, BRANCH)).toEqual({
        ...BASE_FILES,
        'clusters/prod.yaml': NEW_FILES['clusters/prod.yaml'],
        'karpenter/nodeclass.yaml': merged.replace('snap-0aaa', 'snap-0bbb'),
      });
      expect(logger.text()).toContain(
        "karpenter/nodeclass.yaml on 'main' is not the checked-out copy",
      );
    },
    TIMEOUT,
  );

  it(
    'creates the branch, a signed commit and the pull request',
    async () => {
      const { fake, octokit, logger } = await setup();
      const baseHead = fake.head(FULL, 'main') as string;
      const baseTree = fake.commit(FULL, baseHead).treeSha;

      const result = await createOrUpdatePullRequest(pr({ draft: true }), {
        octokit,
        logger,
        signal,
      });

      expect(result).toEqual({
        operation: 'created',
        number: 1,
        url: `https://github.com/${FULL}/pull/1`,
        branch: BRANCH,
        base: 'main',
        commitSha: fake.head(FULL, BRANCH),
      });
      expect(fake.requests.map(line)).toEqual([
        `GET /repos/${FULL}`,
        `GET /repos/${FULL}/git/ref/heads/main`,
        `GET /repos/${FULL}/git/commits/${baseHead}`,
        `GET /repos/${FULL}/git/trees/${baseTree}`,
        `GET /repos/${FULL}/pulls`,
        `GET /repos/${FULL}/git/ref/heads/${BRANCH}`,
        `POST /repos/${FULL}/git/refs`,
        'POST /graphql',
        `POST /repos/${FULL}/pulls`,
        `POST /repos/${FULL}/issues/1/labels`,
      ]);
      const [, , , tree, pulls, , ref, graphql, create, labels] = fake.requests;
      expect(tree?.query).toEqual({ recursive: '1' });
      expect(pulls?.query).toMatchObject({ state: 'open', head: `${OWNER}:${BRANCH}` });
      expect(ref?.body).toEqual({ ref: `refs/heads/${BRANCH}`, sha: baseHead });
      const variables = (graphql?.body as { query: string; variables: unknown }).variables;
      expect((graphql?.body as { query: string }).query).toContain(
        'createCommitOnBranch(input: $input)',
      );
      expect(variables).toEqual({
        input: {
          branch: { repositoryNameWithOwner: FULL, branchName: BRANCH },
          message: {
            headline: 'Use Bottlerocket data volume snapshot snap-0bbb',
            body: 'Images: nginx:1.27',
          },
          fileChanges: {
            additions: Object.entries(NEW_FILES).map(([path, content]) => ({
              path,
              contents: Buffer.from(content, 'utf8').toString('base64'),
            })),
          },
          expectedHeadOid: baseHead,
        },
      });
      expect(create?.body).toEqual({
        title: 'Bottlerocket data volume snapshot snap-0bbb',
        head: BRANCH,
        base: 'main',
        body: 'Points the node groups at snap-0bbb.',
        draft: true,
      });
      expect(labels?.body).toEqual({ labels: ['bottlerocket', 'automated'] });

      const head = fake.commit(FULL, fake.head(FULL, BRANCH) as string);
      expect(head.parents).toEqual([baseHead]);
      expect(head.via).toBe('graphql');
      expect(head.verified).toBe(true);
      expect(fake.files(FULL, BRANCH)).toEqual({ ...BASE_FILES, ...NEW_FILES });
      expect(fake.repo(FULL).pulls).toEqual([
        expect.objectContaining({
          number: 1,
          state: 'open',
          head: BRANCH,
          base: 'main',
          draft: true,
          labels: ['bottlerocket', 'automated'],
        }),
      ]);
      // The token never reaches the log or the recorded headers.
      expect(fake.requests.every((r) => r.authorized && !JSON.stringify(r).includes(TOKEN))).toBe(
        true,
      );
      expect(logger.text()).not.toContain(TOKEN);
      expect(logger.text()).toContain('createCommitOnBranch');
    },
    TIMEOUT,
  );

  it(
    'returns unchanged on a rerun with the same content, without a new commit',
    async () => {
      const { fake, octokit, logger } = await setup();
      const first = await createOrUpdatePullRequest(pr(), { octokit, logger, signal });
      const commits = fake.repo(FULL).commits.size;
      fake.requests.length = 0;

      const second = await createOrUpdatePullRequest(pr(), { octokit, logger, signal });

      expect(second).toEqual({ ...first, operation: 'unchanged' });
      expect(fake.repo(FULL).commits.size).toBe(commits);
      expect(writes(fake.requests)).toEqual([]);
      expect(fake.repo(FULL).pulls).toHaveLength(1);
    },
    TIMEOUT,
  );

  it(
    'updates only the title, body and missing labels when the content is already there',
    async () => {
      const { fake, octokit, logger } = await setup();
      await createOrUpdatePullRequest(pr(), { octokit, logger, signal });
      const head = fake.head(FULL, BRANCH);
      fake.requests.length = 0;

      const result = await createOrUpdatePullRequest(
        pr({ title: 'New title', labels: ['Automated', 'snapshot'] }),
        { octokit, logger, signal },
      );

      expect(result.operation).toBe('updated');
      expect(fake.head(FULL, BRANCH)).toBe(head);
      expect(writes(fake.requests).map((r) => [line(r), r.body])).toEqual([
        [`PATCH /repos/${FULL}/pulls/1`, { title: 'New title' }],
        [`POST /repos/${FULL}/issues/1/labels`, { labels: ['snapshot'] }],
      ]);
      expect(fake.repo(FULL).pulls[0]?.labels).toEqual(['bottlerocket', 'automated', 'snapshot']);
    },
    TIMEOUT,
  );

  it(
    'replaces the commit on new content: base head plus one commit, same pull request, never closed',
    async () => {
      const { fake, octokit, logger } = await setup();
      await createOrUpdatePullRequest(pr(), { octokit, logger, signal });
      const oldHead = fake.head(FULL, BRANCH);
      // main moves on meanwhile.
      const newBase = fake.push(FULL, 'main', { 'README.md': '# infra (moved)\n' });
      fake.requests.length = 0;

      const result = await createOrUpdatePullRequest(
        pr({ title: 'snap-0ccc', files: changes(NEWER_FILES), commitMessage: 'Use snap-0ccc' }),
        { octokit, logger, signal },
      );

      const head = fake.head(FULL, BRANCH) as string;
      expect(result).toMatchObject({
        operation: 'updated',
        number: 1,
        commitSha: head,
        base: 'main',
      });
      expect(head).not.toBe(oldHead);
      expect(fake.commit(FULL, head).parents).toEqual([newBase]);
      expect(fake.commit(FULL, head).message).toBe('Use snap-0ccc');
      expect(fake.files(FULL, BRANCH)).toEqual({
        ...BASE_FILES,
        'README.md': '# infra (moved)\n',
        ...NEWER_FILES,
      });
      const pulls = fake.repo(FULL).pulls;
      expect(pulls).toHaveLength(1);
      expect(pulls[0]).toMatchObject({ state: 'open', title: 'snap-0ccc' });
      expect(pulls[0]?.closedBecause).toBeUndefined();

      const staging = `${BRANCH}${STAGING_BRANCH_SUFFIX}`;
      expect(writes(fake.requests).map(line)).toEqual([
        `POST /repos/${FULL}/git/refs`,
        'POST /graphql',
        `PATCH /repos/${FULL}/git/refs/heads/${BRANCH}`,
        `DELETE /repos/${FULL}/git/refs/heads/${staging}`,
        `PATCH /repos/${FULL}/pulls/1`,
      ]);
      const [createStaging, mutation, move, , update] = writes(fake.requests);
      expect(createStaging?.body).toEqual({ ref: `refs/heads/${staging}`, sha: newBase });
      expect(mutation?.body).toMatchObject({
        variables: { input: { branch: { branchName: staging }, expectedHeadOid: newBase } },
      });
      expect(move?.body).toEqual({ sha: head, force: true });
      expect(update?.body).toEqual({
        title: 'snap-0ccc',
        body: 'Points the node groups at snap-0bbb.',
        base: 'main',
      });
      expect(fake.head(FULL, staging)).toBeUndefined();
    },
    TIMEOUT,
  );

  it(
    'rewrites a pull request branch that someone pushed to',
    async () => {
      const { fake, octokit, logger } = await setup();
      await createOrUpdatePullRequest(pr(), { octokit, logger, signal });
      fake.push(FULL, BRANCH, { 'notes.txt': 'manual edit\n' });

      const result = await createOrUpdatePullRequest(pr(), { octokit, logger, signal });

      expect(result.operation).toBe('updated');
      const head = fake.head(FULL, BRANCH) as string;
      expect(fake.commit(FULL, head).parents).toEqual([fake.head(FULL, 'main')]);
      expect(fake.files(FULL, BRANCH)).toEqual({ ...BASE_FILES, ...NEW_FILES });
      expect(fake.repo(FULL).pulls[0]?.state).toBe('open');
    },
    TIMEOUT,
  );

  it(
    'returns unchanged when the base already has the content and no pull request is open',
    async () => {
      const { fake, octokit, logger } = await setup();
      const result = await createOrUpdatePullRequest(pr({ files: changes(BASE_FILES) }), {
        octokit,
        logger,
        signal,
      });

      expect(result).toEqual({ operation: 'unchanged', branch: BRANCH, base: 'main' });
      expect(writes(fake.requests)).toEqual([]);
      expect(fake.head(FULL, BRANCH)).toBeUndefined();
    },
    TIMEOUT,
  );

  it(
    'leaves an open pull request alone, with a warning, once the base has its content',
    async () => {
      const { fake, octokit, logger } = await setup();
      await createOrUpdatePullRequest(pr(), { octokit, logger, signal });
      fake.push(FULL, 'main', NEW_FILES, 'Merged by hand');
      fake.requests.length = 0;

      const result = await createOrUpdatePullRequest(pr(), { octokit, logger, signal });

      expect(result).toMatchObject({ operation: 'unchanged', number: 1 });
      expect(writes(fake.requests)).toEqual([]);
      expect(logger.messages('warning').join('\n')).toContain('#1');
    },
    TIMEOUT,
  );

  it(
    'uses the branch the workflow ran on as the base',
    async () => {
      const { fake, octokit, logger } = await setup();
      const result = await createOrUpdatePullRequest(pr({ workflowBranch: 'refs/heads/release' }), {
        octokit,
        logger,
        signal,
      });

      expect(result).toMatchObject({ operation: 'created', base: 'release' });
      expect(fake.requests.map(line)).not.toContain(`GET /repos/${FULL}`);
      expect(fake.commit(FULL, fake.head(FULL, BRANCH) as string).parents).toEqual([
        fake.head(FULL, 'release'),
      ]);
      expect(fake.repo(FULL).pulls[0]?.base).toBe('release');
    },
    TIMEOUT,
  );

  it(
    'prefers the pull-request-base input over the workflow branch',
    async () => {
      const { fake, octokit, logger } = await setup();
      const result = await createOrUpdatePullRequest(
        pr({ base: 'main', workflowBranch: 'release' }),
        { octokit, logger, signal },
      );
      expect(result.base).toBe('main');
      expect(fake.repo(FULL).pulls[0]?.base).toBe('main');
    },
    TIMEOUT,
  );

  it(
    "falls back to the repository's default branch",
    async () => {
      const { fake, octokit, logger } = await setup({
        repos: [{ owner: OWNER, name: REPO, defaultBranch: 'trunk', files: BASE_FILES }],
      });
      const result = await createOrUpdatePullRequest(pr(), { octokit, logger, signal });
      expect(result).toMatchObject({ operation: 'created', base: 'trunk' });
      expect(fake.requests[0] && line(fake.requests[0])).toBe(`GET /repos/${FULL}`);
    },
    TIMEOUT,
  );

  it(
    'reports a missing base branch',
    async () => {
      const { fake, octokit, logger } = await setup();
      const error = await rejectionOf(
        createOrUpdatePullRequest(pr({ base: 'nope' }), { octokit, logger, signal }),
      );
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toBe(
        `base branch 'nope' does not exist in ${FULL} (input pull-request-base)`,
      );
      expect(writes(fake.requests)).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'rejects a pull request branch that is the base branch',
    async () => {
      const { fake, octokit, logger } = await setup();
      const error = await rejectionOf(
        createOrUpdatePullRequest(pr({ workflowBranch: BRANCH }), { octokit, logger, signal }),
      );
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toContain('pull-request-base');
      expect(fake.requests).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'asks for contents: write when the token cannot push',
    async () => {
      const { fake, octokit, logger } = await setup({ readOnlyContents: true });
      const error = await rejectionOf(createOrUpdatePullRequest(pr(), { octokit, logger, signal }));
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toContain('permissions: contents: write');
      expect(error.message).toContain('Resource not accessible by integration');
      expect(fake.repo(FULL).pulls).toEqual([]);
      expect(writes(fake.requests)).toHaveLength(1);
    },
    TIMEOUT,
  );

  it(
    'asks for contents: write when createCommitOnBranch is forbidden, without falling back',
    async () => {
      const { fake, octokit, logger } = await setup({ forbidCommitMutation: true });
      const error = await rejectionOf(createOrUpdatePullRequest(pr(), { octokit, logger, signal }));
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toContain('permissions: contents: write');
      expect(fake.requests.map(line)).not.toContain(`POST /repos/${FULL}/git/blobs`);
      expect(fake.repo(FULL).pulls).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'falls back to the REST git data API without GraphQL and builds the same tree',
    async () => {
      const graphqlRun = await setup();
      await createOrUpdatePullRequest(pr(), {
        octokit: graphqlRun.octokit,
        logger: graphqlRun.logger,
        signal,
      });
      const expected = graphqlRun.fake.files(FULL, BRANCH);
      await graphqlRun.fake.close();

      const { fake, octokit, logger } = await setup({ noGraphql: true });
      const baseHead = fake.head(FULL, 'main') as string;
      const result = await createOrUpdatePullRequest(pr(), { octokit, logger, signal });

      expect(result.operation).toBe('created');
      expect(fake.files(FULL, BRANCH)).toEqual(expected);
      const head = fake.commit(FULL, fake.head(FULL, BRANCH) as string);
      expect(head).toMatchObject({ via: 'rest', parents: [baseHead] });
      expect(head.message).toBe(pr().commitMessage);
      expect(writes(fake.requests).map(line)).toEqual([
        `POST /repos/${FULL}/git/refs`,
        'POST /graphql',
        `POST /repos/${FULL}/git/blobs`,
        `POST /repos/${FULL}/git/blobs`,
        `POST /repos/${FULL}/git/trees`,
        `POST /repos/${FULL}/git/commits`,
        `PATCH /repos/${FULL}/git/refs/heads/${BRANCH}`,
        `POST /repos/${FULL}/pulls`,
        `POST /repos/${FULL}/issues/1/labels`,
      ]);
      const tree = fake.requests.find((r) => line(r) === `POST /repos/${FULL}/git/trees`);
      expect(tree?.body).toMatchObject({ base_tree: fake.commit(FULL, baseHead).treeSha });
      expect(logger.messages('warning').join('\n')).toContain('REST git data API');
      expect(logger.text()).toContain('with the REST git data API');

      // A rerun with new content moves the branch in one step; the pull request stays open.
      fake.requests.length = 0;
      const second = await createOrUpdatePullRequest(pr({ files: changes(NEWER_FILES) }), {
        octokit,
        logger,
        signal,
      });
      expect(second).toMatchObject({ operation: 'updated', number: 1 });
      expect(fake.files(FULL, BRANCH)).toEqual({ ...BASE_FILES, ...NEWER_FILES });
      expect(fake.repo(FULL).pulls[0]?.state).toBe('open');
      expect(fake.head(FULL, `${BRANCH}${STAGING_BRANCH_SUFFIX}`)).toBeUndefined();
    },
    TIMEOUT,
  );

  it(
    'updates the pull request another run opened between lookup and create',
    async () => {
      const { fake, octokit, logger } = await setup();
      let raced = false;
      fake.onRequest = (request, f) => {
        if (!raced && request.method === 'POST' && request.path === `/repos/${FULL}/pulls`) {
          raced = true;
          f.openPull(FULL, { head: BRANCH, base: 'main', title: 'Other run' });
        }
      };

      const result = await createOrUpdatePullRequest(pr(), { octokit, logger, signal });

      expect(result).toMatchObject({ operation: 'updated', number: 1 });
      const pulls = fake.repo(FULL).pulls;
      expect(pulls).toHaveLength(1);
      expect(pulls[0]).toMatchObject({
        title: pr().title,
        state: 'open',
        labels: ['bottlerocket', 'automated'],
      });
      expect(fake.requests.map(line).slice(-4)).toEqual([
        `POST /repos/${FULL}/pulls`,
        `GET /repos/${FULL}/pulls`,
        `PATCH /repos/${FULL}/pulls/1`,
        `POST /repos/${FULL}/issues/1/labels`,
      ]);
    },
    TIMEOUT,
  );

  it(
    'compares through the contents API when the tree listing is truncated',
    async () => {
      const { fake, octokit, logger } = await setup({ truncateTrees: true });
      const created = await createOrUpdatePullRequest(pr(), { octokit, logger, signal });
      expect(created.operation).toBe('created');
      expect(fake.files(FULL, BRANCH)).toEqual({ ...BASE_FILES, ...NEW_FILES });
      expect(fake.requests.map(line)).toContain(`GET /repos/${FULL}/contents/clusters/prod.yaml`);

      const unchanged = await createOrUpdatePullRequest(
        pr({ files: changes(BASE_FILES), branch: 'other' }),
        { octokit, logger, signal },
      );
      expect(unchanged.operation).toBe('unchanged');

      // A rerun with the same content (plus a file that is the same as on the base) finds the
      // pull request already holds it, through GitHub's comparison: no new commit.
      const head = fake.head(FULL, BRANCH);
      const again = await createOrUpdatePullRequest(
        pr({
          files: [...changes(NEW_FILES), { path: 'README.md', content: BASE_FILES['README.md'] }],
        }),
        { octokit, logger, signal },
      );
      expect(again).toMatchObject({ operation: 'unchanged', commitSha: head });
      expect(fake.head(FULL, BRANCH)).toBe(head);
      expect(fake.requests.map(line)).toContain(
        `GET /repos/${FULL}/compare/${fake.head(FULL, 'main')}...${head}`,
      );

      // Different content: rewritten.
      const newer = await createOrUpdatePullRequest(pr({ files: changes(NEWER_FILES) }), {
        octokit,
        logger,
        signal,
      });
      expect(newer.operation).toBe('updated');
      expect(fake.head(FULL, BRANCH)).not.toBe(head);
    },
    TIMEOUT,
  );

  it(
    'commits new files and rejects bad paths',
    async () => {
      const { fake, octokit, logger } = await setup();
      await createOrUpdatePullRequest(
        pr({ files: [{ path: 'karpenter/new/nodeclass.yaml', content: 'new\n' }] }),
        { octokit, logger, signal },
      );
      expect(fake.files(FULL, BRANCH)['karpenter/new/nodeclass.yaml']).toBe('new\n');

      for (const path of ['/abs.yaml', '../up.yaml', 'a//b.yaml', 'a\\b.yaml', 'karpenter']) {
        const error = await rejectionOf(
          createOrUpdatePullRequest(pr({ files: [{ path, content: 'x' }] }), {
            octokit,
            logger,
            signal,
          }),
        );
        expect(error).toBeInstanceOf(ActionError);
      }
    },
    TIMEOUT,
  );
});

describe('the GitHub fake', () => {
  it(
    'closes an open pull request whose head is reset to the base head, as GitHub does',
    async () => {
      const { fake, octokit, logger } = await setup();
      await createOrUpdatePullRequest(pr(), { octokit, logger, signal });
      await octokit.rest.git.updateRef({
        owner: OWNER,
        repo: REPO,
        ref: `heads/${BRANCH}`,
        sha: fake.head(FULL, 'main') as string,
        force: true,
      });
      expect(fake.repo(FULL).pulls[0]).toMatchObject({
        state: 'closed',
        closedBecause: 'head branch has no commits ahead of base',
      });
    },
    TIMEOUT,
  );
});
