import { afterEach, describe, expect, it } from '@jest/globals';
import { ActionError } from '../../../../src/core/errors.js';
import {
  baseHeadSha,
  blobsAtBase,
  branchHasContent,
  deleteRef,
  getBranchSha,
  getCommit,
  gitBlobSha,
  listTree,
  normalizeNewlines,
  readBlob,
  setRef,
  type DesiredFile,
} from '../../../../src/cluster-update/pull-request/git-data.js';
import {
  BASE_FILES,
  BRANCH,
  changes,
  closeFake,
  contextFor,
  FULL,
  line,
  NEW_FILES,
  OWNER,
  setup,
  TIMEOUT,
  writes,
} from '../../../../test-support/pull-request-repo.js';
import { rejectionOf } from '../../../../test-support/rejection.js';

afterEach(closeFake);

function desired(files: Record<string, string>): DesiredFile[] {
  return Object.entries(files).map(([path, content]) => ({
    path,
    content,
    blobSha: gitBlobSha(content),
    mode: '100644',
  }));
}

describe('gitBlobSha', () => {
  it('matches git hash-object', () => {
    expect(gitBlobSha('')).toBe('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
    expect(gitBlobSha('hello\n')).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });
});

describe('normalizeNewlines', () => {
  it('turns CRLF into LF and leaves the rest', () => {
    expect(normalizeNewlines('a\r\nb\nc\r')).toBe('a\nb\nc\r');
  });
});

describe('baseHeadSha', () => {
  it(
    'reports a repository the token cannot see',
    async () => {
      const { octokit, logger } = await setup();
      const error = await rejectionOf(
        baseHeadSha(contextFor(octokit, logger, 'secret'), 'main', 'input'),
      );
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toContain(
        `Repository ${OWNER}/secret was not found, or the token cannot see it`,
      );
    },
    TIMEOUT,
  );

  it(
    'answers the head of the base branch',
    async () => {
      const { fake, octokit, logger } = await setup();
      expect(await baseHeadSha(contextFor(octokit, logger), 'release', 'workflow')).toBe(
        fake.head(FULL, 'release'),
      );
    },
    TIMEOUT,
  );

  it(
    'says where a missing base branch name came from',
    async () => {
      const { fake, octokit, logger } = await setup();
      const ctx = contextFor(octokit, logger);
      const workflow = await rejectionOf(baseHeadSha(ctx, 'gone', 'workflow'));
      expect(workflow).toBeInstanceOf(ActionError);
      expect(workflow.message).toBe(
        `base branch 'gone' does not exist in ${FULL} (the branch this workflow ran on; set the pull-request-base input to choose another)`,
      );
      fake.requests.length = 0;
      const fallback = await rejectionOf(baseHeadSha(ctx, 'gone', 'default'));
      expect(fallback.message).toBe(
        `base branch 'gone' does not exist in ${FULL} (the repository's default branch)`,
      );
      // The default branch was just read from the repository: it is not read again.
      expect(fake.requests.map(line)).toEqual([`GET /repos/${FULL}/git/ref/heads/gone`]);
      expect(writes(fake.requests)).toEqual([]);
    },
    TIMEOUT,
  );
});

describe('getBranchSha', () => {
  it(
    'answers undefined for a branch that does not exist',
    async () => {
      const { fake, octokit, logger } = await setup();
      const ctx = contextFor(octokit, logger);
      expect(await getBranchSha(ctx, 'nope', 'read it')).toBeUndefined();
      expect(await getBranchSha(ctx, 'main', 'read it')).toBe(fake.head(FULL, 'main'));
    },
    TIMEOUT,
  );
});

describe('listTree, getCommit, readBlob', () => {
  it(
    'read a commit, its whole tree and a blob',
    async () => {
      const { fake, octokit, logger } = await setup();
      const ctx = contextFor(octokit, logger);
      const head = fake.head(FULL, 'main') as string;
      const commit = await getCommit(ctx, head);
      expect(commit).toEqual({ treeSha: fake.commit(FULL, head).treeSha, parents: [] });
      const tree = await listTree(ctx, commit.treeSha);
      expect(tree.truncated).toBe(false);
      expect(tree.entries.get('clusters/prod.yaml')).toEqual({
        path: 'clusters/prod.yaml',
        mode: '100644',
        type: 'blob',
        sha: gitBlobSha(BASE_FILES['clusters/prod.yaml']),
      });
      expect(tree.entries.get('clusters')?.type).toBe('tree');
      const blob = tree.entries.get('README.md')?.sha as string;
      expect(await readBlob(ctx, blob)).toBe(BASE_FILES['README.md']);
      expect(fake.requests.find((r) => r.path.includes('/git/trees/'))?.query).toEqual({
        recursive: '1',
      });
    },
    TIMEOUT,
  );

  it(
    'names what could not be read',
    async () => {
      const { octokit, logger } = await setup();
      const error = await rejectionOf(getCommit(contextFor(octokit, logger), 'f'.repeat(40)));
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toContain(`Could not read commit ${'f'.repeat(40)} in ${FULL}`);
    },
    TIMEOUT,
  );
});

describe('blobsAtBase', () => {
  it(
    'finds each file at the base, leaves out new ones and refuses a directory',
    async () => {
      const { fake, octokit, logger } = await setup();
      const ctx = contextFor(octokit, logger);
      const head = fake.head(FULL, 'main') as string;
      const tree = await listTree(ctx, (await getCommit(ctx, head)).treeSha);
      const found = await blobsAtBase(ctx, head, tree, [
        ...changes(NEW_FILES),
        { path: 'new.yaml', content: 'x' },
      ]);
      expect([...found.keys()]).toEqual(Object.keys(NEW_FILES));
      expect(found.get('clusters/prod.yaml')?.sha).toBe(
        gitBlobSha(BASE_FILES['clusters/prod.yaml']),
      );
      const error = await rejectionOf(
        blobsAtBase(ctx, head, tree, [{ path: 'karpenter', content: 'x' }]),
      );
      expect(error).toBeInstanceOf(ActionError);
      expect(error.message).toBe(`Cannot write 'karpenter': it is a directory in ${FULL}.`);
    },
    TIMEOUT,
  );

  it(
    'asks the contents API one path at a time when the tree listing is truncated',
    async () => {
      const { fake, octokit, logger } = await setup({ truncateTrees: true });
      const ctx = contextFor(octokit, logger);
      const head = fake.head(FULL, 'main') as string;
      const tree = await listTree(ctx, (await getCommit(ctx, head)).treeSha);
      expect(tree.truncated).toBe(true);
      const found = await blobsAtBase(ctx, head, tree, [
        { path: 'clusters/prod.yaml', content: 'x' },
        { path: 'absent.yaml', content: 'x' },
      ]);
      expect([...found.keys()]).toEqual(['clusters/prod.yaml']);
      expect(fake.requests.map(line)).toContain(`GET /repos/${FULL}/contents/clusters/prod.yaml`);
      expect(fake.requests.map(line)).toContain(`GET /repos/${FULL}/contents/absent.yaml`);
    },
    TIMEOUT,
  );
});

describe('branchHasContent', () => {
  async function branchOnBase(truncateTrees = false) {
    const run = await setup({ truncateTrees });
    const ctx = contextFor(run.octokit, run.logger);
    const baseHead = run.fake.head(FULL, 'main') as string;
    const headSha = run.fake.push(FULL, 'main', NEW_FILES);
    // The pull request branch: main plus one commit; main itself back where it was.
    await setRef(ctx, BRANCH, headSha, false);
    await setRef(ctx, 'main', baseHead, true);
    const baseTree = await listTree(ctx, (await getCommit(ctx, baseHead)).treeSha);
    return { ...run, ctx, baseHead, headSha, baseTree };
  }

  it(
    'is true for one commit on the base head with exactly the desired files',
    async () => {
      const { ctx, baseHead, headSha, baseTree } = await branchOnBase();
      const files = desired(NEW_FILES);
      expect(await branchHasContent(ctx, headSha, baseHead, baseTree, files, files)).toBe(true);
    },
    TIMEOUT,
  );

  it(
    'is false, saying why, for other content or a commit not on the base head',
    async () => {
      const { fake, ctx, logger, baseHead, headSha, baseTree } = await branchOnBase();
      const other = desired({ 'clusters/prod.yaml': 'other\n' });
      expect(await branchHasContent(ctx, headSha, baseHead, baseTree, other, other)).toBe(false);
      expect(logger.text()).toContain(
        "The pull request branch differs from the new content at 'clusters/prod.yaml': rewriting it.",
      );
      const files = desired(NEW_FILES);
      const onTop = fake.push(FULL, BRANCH, { 'notes.txt': 'x\n' });
      expect(await branchHasContent(ctx, onTop, baseHead, baseTree, files, files)).toBe(false);
      expect(logger.text()).toContain(
        'The pull request branch is not one commit on top of the base head: rewriting it.',
      );
    },
    TIMEOUT,
  );

  it(
    "compares through GitHub's comparison when the trees are too large to list",
    async () => {
      const { fake, ctx, baseHead, headSha, baseTree } = await branchOnBase(true);
      const files = desired(NEW_FILES);
      expect(await branchHasContent(ctx, headSha, baseHead, baseTree, files, files)).toBe(true);
      expect(fake.requests.map(line)).toContain(
        `GET /repos/${FULL}/compare/${baseHead}...${headSha}`,
      );
      const fewer = files.slice(0, 1);
      expect(await branchHasContent(ctx, headSha, baseHead, baseTree, files, fewer)).toBe(false);
    },
    TIMEOUT,
  );
});

describe('setRef and deleteRef', () => {
  it(
    'create a ref that was thought to exist and move one that was not, then delete quietly',
    async () => {
      const { fake, octokit, logger } = await setup();
      const ctx = contextFor(octokit, logger);
      const main = fake.head(FULL, 'main') as string;
      const release = fake.head(FULL, 'release') as string;
      await setRef(ctx, 'made', main, true);
      expect(fake.head(FULL, 'made')).toBe(main);
      await setRef(ctx, 'made', release, false);
      expect(fake.head(FULL, 'made')).toBe(release);
      expect(writes(fake.requests).map(line)).toEqual([
        `PATCH /repos/${FULL}/git/refs/heads/made`,
        `POST /repos/${FULL}/git/refs`,
        `POST /repos/${FULL}/git/refs`,
        `PATCH /repos/${FULL}/git/refs/heads/made`,
      ]);
      expect(writes(fake.requests)[3]?.body).toEqual({ sha: release, force: true });
      await deleteRef(ctx, 'made');
      expect(fake.head(FULL, 'made')).toBeUndefined();
      await deleteRef(ctx, 'made');
      expect(logger.messages('warning')).toEqual([]);
    },
    TIMEOUT,
  );
});
