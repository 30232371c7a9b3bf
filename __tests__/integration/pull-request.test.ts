import { afterEach, describe, expect, it } from '@jest/globals';
import { getOctokit } from '@actions/github';
import { ActionError } from '../../src/core/errors.js';
import { MemoryLogger } from '../../test-support/memory-logger.js';
import {
  createOrUpdatePullRequest,
  gitBlobSha,
  STAGING_BRANCH_SUFFIX,
  type Octokit,
  type PullRequestRequest,
} from '../../src/cluster-update/pull-request/index.js';
import {
  escapeCell,
  MAX_BODY_CHARS,
  renderPullRequestBody,
  type PullRequestBodyData,
} from '../../src/cluster-update/pull-request/body.js';
import {
  startGitHubFake,
  type GitHubFake,
  type GitHubFakeInit,
  type RecordedRequest,
} from '../../test-support/github-fake.js';
import { rejectionOf } from '../../test-support/rejection.js';

const TIMEOUT = 20_000;
const TOKEN = 'test-token';
const OWNER = 'acme';
const REPO = 'infra';
const FULL = `${OWNER}/${REPO}`;
const BRANCH = 'bottlerocket-snapshot/prod';

const BASE_FILES = {
  'README.md': '# infra\n',
  'clusters/prod.yaml': 'managedNodeGroups:\n  - name: ng-1\n    volumeSnapshot: snap-0aaa\n',
  'karpenter/nodeclass.yaml': 'kind: EC2NodeClass\nsnapshotID: snap-0aaa\n',
};

const NEW_FILES = {
  'clusters/prod.yaml': 'managedNodeGroups:\n  - name: ng-1\n    volumeSnapshot: snap-0bbb\n',
  'karpenter/nodeclass.yaml': 'kind: EC2NodeClass\nsnapshotID: snap-0bbb\n',
};

const NEWER_FILES = {
  'clusters/prod.yaml': 'managedNodeGroups:\n  - name: ng-1\n    volumeSnapshot: snap-0ccc\n',
  'karpenter/nodeclass.yaml': 'kind: EC2NodeClass\nsnapshotID: snap-0ccc\n',
};

function changes(files: Record<string, string>) {
  return Object.entries(files).map(([path, content]) => ({ path, content }));
}

function pr(overrides: Partial<PullRequestRequest> = {}): PullRequestRequest {
  return {
    owner: OWNER,
    repo: REPO,
    branch: BRANCH,
    title: 'Bottlerocket data volume snapshot snap-0bbb',
    body: 'Points the node groups at snap-0bbb.',
    commitMessage: 'Use Bottlerocket data volume snapshot snap-0bbb\n\nImages: nginx:1.27',
    labels: ['bottlerocket', 'automated'],
    draft: false,
    files: changes(NEW_FILES),
    ...overrides,
  };
}

let fake: GitHubFake | undefined;

async function setup(init: Partial<GitHubFakeInit> = {}) {
  fake = await startGitHubFake({
    repos: [{ owner: OWNER, name: REPO, files: BASE_FILES, branches: { release: {} } }],
    ...init,
  });
  // The runner's proxy settings must not reach loopback requests: use Node's own fetch.
  const octokit: Octokit = getOctokit(TOKEN, {
    baseUrl: fake.url,
    request: { fetch: globalThis.fetch },
  });
  return { fake, octokit, logger: new MemoryLogger() };
}

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const line = (r: RecordedRequest) => `${r.method} ${r.path}`;
const writes = (requests: RecordedRequest[]) => requests.filter((r) => r.method !== 'GET');

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
      const result = await createOrUpdatePullRequest(octokit, pr(), logger);
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
      await createOrUpdatePullRequest(octokit, pr(), new MemoryLogger());
      // The same change reached main some other way: the pull request would now do nothing.
      fake.push(FULL, 'main', NEW_FILES, 'Point the nodes at snap-0bbb by hand');
      const result = await createOrUpdatePullRequest(octokit, pr({ files: [] }), logger);
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
      const result = await createOrUpdatePullRequest(octokit, pr({ files }), logger);
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

      const result = await createOrUpdatePullRequest(octokit, pr({ draft: true }), logger);

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
      const first = await createOrUpdatePullRequest(octokit, pr(), logger);
      const commits = fake.repo(FULL).commits.size;
      fake.requests.length = 0;

      const second = await createOrUpdatePullRequest(octokit, pr(), logger);

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
      await createOrUpdatePullRequest(octokit, pr(), logger);
      const head = fake.head(FULL, BRANCH);
      fake.requests.length = 0;

      const result = await createOrUpdatePullRequest(
        octokit,
        pr({ title: 'New title', labels: ['Automated', 'snapshot'] }),
        logger,
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
      await createOrUpdatePullRequest(octokit, pr(), logger);
      const oldHead = fake.head(FULL, BRANCH);
      // main moves on meanwhile.
      const newBase = fake.push(FULL, 'main', { 'README.md': '# infra (moved)\n' });
      fake.requests.length = 0;

      const result = await createOrUpdatePullRequest(
        octokit,
        pr({ title: 'snap-0ccc', files: changes(NEWER_FILES), commitMessage: 'Use snap-0ccc' }),
        logger,
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
      await createOrUpdatePullRequest(octokit, pr(), logger);
      fake.push(FULL, BRANCH, { 'notes.txt': 'manual edit\n' });

      const result = await createOrUpdatePullRequest(octokit, pr(), logger);

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
      const result = await createOrUpdatePullRequest(
        octokit,
        pr({ files: changes(BASE_FILES) }),
        logger,
      );

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
      await createOrUpdatePullRequest(octokit, pr(), logger);
      fake.push(FULL, 'main', NEW_FILES, 'Merged by hand');
      fake.requests.length = 0;

      const result = await createOrUpdatePullRequest(octokit, pr(), logger);

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
      const result = await createOrUpdatePullRequest(
        octokit,
        pr({ workflowBranch: 'refs/heads/release' }),
        logger,
      );

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
        octokit,
        pr({ base: 'main', workflowBranch: 'release' }),
        logger,
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
      const result = await createOrUpdatePullRequest(octokit, pr(), logger);
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
        createOrUpdatePullRequest(octokit, pr({ base: 'nope' }), logger),
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
    'reports a repository the token cannot see',
    async () => {
      const { octokit, logger } = await setup();
      const error = await rejectionOf(
        createOrUpdatePullRequest(octokit, pr({ repo: 'secret', base: 'main' }), logger),
      );
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toContain(
        `Repository ${OWNER}/secret was not found, or the token cannot see it`,
      );
    },
    TIMEOUT,
  );

  it(
    'rejects a pull request branch that is the base branch',
    async () => {
      const { fake, octokit, logger } = await setup();
      const error = await rejectionOf(
        createOrUpdatePullRequest(octokit, pr({ workflowBranch: BRANCH }), logger),
      );
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toContain('pull-request-base');
      expect(fake.requests).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'explains how to let GitHub Actions create pull requests',
    async () => {
      const { fake, octokit, logger } = await setup({ forbidPullRequestCreation: true });
      const error = await rejectionOf(createOrUpdatePullRequest(octokit, pr(), logger));
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
    'asks for contents: write when the token cannot push',
    async () => {
      const { fake, octokit, logger } = await setup({ readOnlyContents: true });
      const error = await rejectionOf(createOrUpdatePullRequest(octokit, pr(), logger));
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
      const error = await rejectionOf(createOrUpdatePullRequest(octokit, pr(), logger));
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toContain('permissions: contents: write');
      expect(fake.requests.map(line)).not.toContain(`POST /repos/${FULL}/git/blobs`);
      expect(fake.repo(FULL).pulls).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'asks for pull-requests: write when the token cannot open pull requests',
    async () => {
      const { octokit, logger } = await setup({ readOnlyPulls: true });
      const error = await rejectionOf(createOrUpdatePullRequest(octokit, pr(), logger));
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toContain('permissions: pull-requests: write');
    },
    TIMEOUT,
  );

  it(
    'falls back to the REST git data API without GraphQL and builds the same tree',
    async () => {
      const graphqlRun = await setup();
      await createOrUpdatePullRequest(graphqlRun.octokit, pr(), graphqlRun.logger);
      const expected = graphqlRun.fake.files(FULL, BRANCH);
      await graphqlRun.fake.close();

      const { fake, octokit, logger } = await setup({ noGraphql: true });
      const baseHead = fake.head(FULL, 'main') as string;
      const result = await createOrUpdatePullRequest(octokit, pr(), logger);

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
      const second = await createOrUpdatePullRequest(
        octokit,
        pr({ files: changes(NEWER_FILES) }),
        logger,
      );
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

      const result = await createOrUpdatePullRequest(octokit, pr(), logger);

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
    'reports a branch that moved while the commit was made',
    async () => {
      const { fake, octokit, logger } = await setup();
      fake.onRequest = (request, f) => {
        if (request.path === '/graphql') f.push(FULL, BRANCH, { 'other.txt': 'x\n' });
      };
      const error = await rejectionOf(createOrUpdatePullRequest(octokit, pr(), logger));
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toContain('moved while the commit was being made');
      expect(fake.requests.map(line)).not.toContain(`POST /repos/${FULL}/git/blobs`);
    },
    TIMEOUT,
  );

  it(
    'compares through the contents API when the tree listing is truncated',
    async () => {
      const { fake, octokit, logger } = await setup({ truncateTrees: true });
      const created = await createOrUpdatePullRequest(octokit, pr(), logger);
      expect(created.operation).toBe('created');
      expect(fake.files(FULL, BRANCH)).toEqual({ ...BASE_FILES, ...NEW_FILES });
      expect(fake.requests.map(line)).toContain(`GET /repos/${FULL}/contents/clusters/prod.yaml`);

      const unchanged = await createOrUpdatePullRequest(
        octokit,
        pr({ files: changes(BASE_FILES), branch: 'other' }),
        logger,
      );
      expect(unchanged.operation).toBe('unchanged');

      // A rerun with the same content (plus a file that is the same as on the base) finds the
      // pull request already holds it, through GitHub's comparison: no new commit.
      const head = fake.head(FULL, BRANCH);
      const again = await createOrUpdatePullRequest(
        octokit,
        pr({
          files: [...changes(NEW_FILES), { path: 'README.md', content: BASE_FILES['README.md'] }],
        }),
        logger,
      );
      expect(again).toMatchObject({ operation: 'unchanged', commitSha: head });
      expect(fake.head(FULL, BRANCH)).toBe(head);
      expect(fake.requests.map(line)).toContain(
        `GET /repos/${FULL}/compare/${fake.head(FULL, 'main')}...${head}`,
      );

      // Different content: rewritten.
      const newer = await createOrUpdatePullRequest(
        octokit,
        pr({ files: changes(NEWER_FILES) }),
        logger,
      );
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
        octokit,
        pr({ files: [{ path: 'karpenter/new/nodeclass.yaml', content: 'new\n' }] }),
        logger,
      );
      expect(fake.files(FULL, BRANCH)['karpenter/new/nodeclass.yaml']).toBe('new\n');

      for (const path of ['/abs.yaml', '../up.yaml', 'a//b.yaml', 'a\\b.yaml', 'karpenter']) {
        const error = await rejectionOf(
          createOrUpdatePullRequest(octokit, pr({ files: [{ path, content: 'x' }] }), logger),
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
      await createOrUpdatePullRequest(octokit, pr(), logger);
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

describe('gitBlobSha', () => {
  it('matches git hash-object', () => {
    expect(gitBlobSha('')).toBe('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
    expect(gitBlobSha('hello\n')).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });
});

describe('renderPullRequestBody', () => {
  const data: PullRequestBodyData = {
    files: [
      {
        path: 'clusters/prod.yaml',
        targets: [
          {
            kind: 'eksctl managedNodeGroup',
            name: 'ng|1',
            previousSnapshotId: 'snap-0aaa',
            snapshotId: 'snap-0bbb',
            previousSize: 50,
            size: 80,
          },
          {
            kind: 'eksctl nodeGroup',
            name: 'ng-2',
            previousSnapshotId: null,
            snapshotId: 'snap-0bbb',
          },
        ],
      },
      {
        path: 'karpenter/node`class.yaml',
        targets: [
          {
            kind: 'EC2NodeClass',
            name: 'default',
            previousSnapshotId: 'snap-0aaa',
            snapshotId: 'snap-0bbb',
            previousSize: '80Gi',
            size: '80Gi',
          },
        ],
      },
    ],
    images: [
      {
        reference: 'public.ecr.aws/nginx/nginx:1.27',
        platform: 'linux/amd64',
        digest: 'sha256:abc',
        sizeBytes: 52_428_800,
      },
      { reference: 'weird|image`ref', platform: 'linux/arm64' },
    ],
    volumeSizeGiB: 80,
    snapshotId: 'snap-0bbb',
    region: 'eu-west-1',
    runUrl: 'https://github.com/acme/infra/actions/runs/1',
    karpenterTouched: true,
  };

  it('renders the changes, images, volume size, drift note and run link', () => {
    const body = renderPullRequestBody(data);
    expect(body).toContain(
      '| `clusters/prod.yaml` | eksctl managedNodeGroup | `ng\\|1` | `snap-0aaa` → `snap-0bbb` | 50 GiB → 80 GiB |',
    );
    expect(body).toContain('| (none) → `snap-0bbb` |');
    expect(body).toContain('| karpenter/node\\`class.yaml | EC2NodeClass | `default` |');
    expect(body).toContain('80Gi (unchanged)');
    expect(body).toContain(
      '| `public.ecr.aws/nginx/nginx:1.27` | linux/amd64 | `sha256:abc` | 50.0 MiB |',
    );
    expect(body).toContain('| weird\\|image\\`ref | linux/arm64 |  |  |');
    expect(body).toContain('**80 GiB**');
    expect(body).toContain('Karpenter');
    expect(body).toContain('drift');
    expect(body).toContain('[this workflow run](https://github.com/acme/infra/actions/runs/1)');
    // Every table row has the same number of unescaped cell separators as its header.
    for (const row of body.split('\n').filter((l) => l.startsWith('| `clusters'))) {
      expect(row.replace(/\\\|/g, '').split('|')).toHaveLength(7);
    }
  });

  it('leaves out the drift note and run link when they do not apply', () => {
    const body = renderPullRequestBody({ ...data, karpenterTouched: false, runUrl: undefined });
    expect(body).not.toContain('Karpenter');
    expect(body).not.toContain('workflow run');
  });

  it('stays below the limit by cutting the images table short', () => {
    const images = Array.from({ length: 5000 }, (_, i) => ({
      reference: `registry.example.com/team/image-${i}:v1.2.3`,
      platform: 'linux/amd64',
      digest: `sha256:${String(i).padStart(64, '0')}`,
      sizeBytes: 1024 * i,
    }));
    const body = renderPullRequestBody({ ...data, images });
    expect(body.length).toBeLessThan(MAX_BODY_CHARS);
    const shown = body.split('\n').filter((l) => l.startsWith('| `registry.example.com')).length;
    expect(shown).toBeGreaterThan(100);
    expect(body).toContain(`| … and ${5000 - shown} more | | | |`);
    // The sections after the table survive.
    expect(body).toContain('**80 GiB**');
    expect(body).toContain('[this workflow run]');

    const small = renderPullRequestBody({ ...data, images }, 4000);
    expect(small.length).toBeLessThan(4000);
    expect(small).toMatch(/\| … and \d+ more \| \| \| \|/);
  });

  it('escapes cells onto one line', () => {
    expect(escapeCell('a|b`c\nd<e>')).toBe('a\\|b\\`c d&lt;e&gt;');
  });
});
