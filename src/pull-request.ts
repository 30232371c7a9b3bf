/**
 * Opens or updates the pull request that carries the rewritten manifests.
 *
 * Everything happens through the GitHub API (no local git): the pull request
 * branch is always "base head + one commit", so a rerun with the same content
 * is a no-op and a rerun with new content replaces the previous commit instead
 * of stacking on it. The commit is made with the GraphQL `createCommitOnBranch`
 * mutation, which GitHub signs (a "Verified" commit); when GraphQL is not
 * available the REST git data API builds the same tree.
 *
 * An open pull request's head branch is never moved to the base head: GitHub
 * closes a pull request for good the moment its head has nothing ahead of its
 * base. When a pull request is open, the new commit is therefore built on a
 * short-lived staging branch and the pull request branch is moved onto it in
 * one step.
 */
import { createHash } from 'node:crypto';
import type { getOctokit } from '@actions/github';
import { ActionError, errorMessage } from './errors.js';
import type { Logger } from './logger.js';

/** The Octokit the action entry point builds with `@actions/github`'s `getOctokit`. */
export type Octokit = ReturnType<typeof getOctokit>;

export interface FileChange {
  /** Repository-relative POSIX path. */
  path: string;
  /** New full content, UTF-8. */
  content: string;
}

export interface PullRequestRequest {
  owner: string;
  repo: string;
  /** The pull-request-base input; else the workflow's branch; else the repository's default branch. */
  base?: string;
  /** The branch the workflow ran on (from GITHUB_REF refs/heads/x), if any. */
  workflowBranch?: string;
  /** The pull request branch, fixed per configuration so reruns update the same pull request. */
  branch: string;
  title: string;
  body: string;
  commitMessage: string;
  /** Labels to add (labels are only ever added, never removed). */
  labels: string[];
  draft: boolean;
  files: FileChange[];
}

export interface PullRequestResult {
  operation: 'created' | 'updated' | 'unchanged';
  number?: number;
  url?: string;
  branch: string;
  base: string;
  /** Head commit of the pull request branch (the new commit, or the existing one when unchanged). */
  commitSha?: string;
}

/** GitHub's limit on a pull request body, in characters. */
export const MAX_PULL_REQUEST_BODY = 65536;

/** Suffix of the short-lived branch a new commit is built on while a pull request is open. */
export const STAGING_BRANCH_SUFFIX = '-staging';

const MSG_ACTIONS_NOT_PERMITTED =
  'GitHub Actions is not permitted to create or approve pull requests';
const MSG_NOT_ACCESSIBLE = 'Resource not accessible by';
const MSG_PULL_EXISTS = 'A pull request already exists';
const MSG_STALE_HEAD = 'Expected branch to point to';

type Area = 'repository' | 'contents' | 'pulls' | 'labels';
type BaseSource = 'input' | 'workflow' | 'default';

interface Context {
  octokit: Octokit;
  owner: string;
  repo: string;
  full: string;
  logger: Logger;
}

interface TreeEntry {
  path: string;
  mode: string;
  type: string;
  sha: string;
}

interface TreeListing {
  entries: Map<string, TreeEntry>;
  truncated: boolean;
}

interface OpenPull {
  number: number;
  url: string;
  title: string;
  body: string;
  base: string;
  headSha: string;
  labels: string[];
}

interface DesiredFile {
  path: string;
  content: string;
  blobSha: string;
  /** Mode of the file at the base head, when known. */
  mode: string | undefined;
}

/** Creates or updates the pull request so that `branch` is the base head plus one commit with `files`. */
export async function createOrUpdatePullRequest(
  octokit: Octokit,
  request: PullRequestRequest,
  logger: Logger,
): Promise<PullRequestResult> {
  const ctx: Context = {
    octokit,
    owner: request.owner,
    repo: request.repo,
    full: `${request.owner}/${request.repo}`,
    logger,
  };
  const branch = branchName(request.branch);
  if (!branch) throw new ActionError('The pull request branch name is empty.');
  const files = validateFiles(request.files);
  const labels = normalizeLabels(request.labels);
  const body = fitBody(request.body, logger);

  const { base, source } = await resolveBase(ctx, request);
  if (base === branch) {
    throw new ActionError(
      `The pull request branch '${branch}' is also the base branch` +
        `${source === 'workflow' ? ' (the branch this workflow ran on)' : ''}. ` +
        'Set the pull-request-base input to the branch the pull request should merge into.',
    );
  }
  const baseHead = await baseHeadSha(ctx, base, source);
  const baseCommit = await getCommit(ctx, baseHead);
  const baseTree = await listTree(ctx, baseCommit.treeSha);
  logger.info(`Base branch '${base}' is at ${baseHead}.`);

  const current = await blobsAtBase(ctx, baseHead, baseTree, files);
  const desired: DesiredFile[] = files.map((file) => ({
    ...file,
    blobSha: gitBlobSha(file.content),
    mode: current.get(file.path)?.mode,
  }));
  const changed = desired.filter((file) => current.get(file.path)?.sha !== file.blobSha);
  for (const file of desired) {
    if (!changed.includes(file))
      logger.debug(`${file.path} already has the new content on '${base}'.`);
  }

  const open = await findOpenPull(ctx, branch, base);

  if (changed.length === 0) {
    if (!open) {
      logger.info(`Every file already has the new content on '${base}': no pull request needed.`);
      return { operation: 'unchanged', branch, base };
    }
    logger.warning(
      `Every file already has the new content on '${base}', so pull request #${open.number} ` +
        `(${open.url}) is no longer needed: review and close it.`,
    );
    return {
      operation: 'unchanged',
      number: open.number,
      url: open.url,
      branch,
      base,
      commitSha: open.headSha,
    };
  }

  if (open && (await branchHasContent(ctx, open.headSha, baseHead, baseTree, desired))) {
    logger.info(
      `Pull request #${open.number} already holds this content on top of '${base}' (${open.headSha}).`,
    );
    const updated = await syncMetadata(ctx, open, { title: request.title, body, base }, labels);
    return {
      operation: updated ? 'updated' : 'unchanged',
      number: open.number,
      url: open.url,
      branch,
      base,
      commitSha: open.headSha,
    };
  }

  const commitSha = await writeBranch(ctx, {
    branch,
    baseHead,
    baseTreeSha: baseCommit.treeSha,
    message: request.commitMessage,
    files: changed,
    pullOpen: open !== undefined,
  });

  if (open) {
    await updatePull(ctx, open.number, { title: request.title, body, base });
    await addLabels(ctx, open.number, labels, open.labels);
    logger.info(`Updated pull request #${open.number}: ${open.url}`);
    return { operation: 'updated', number: open.number, url: open.url, branch, base, commitSha };
  }

  const created = await createPull(
    ctx,
    { branch, base, title: request.title, body },
    request.draft,
  );
  await addLabels(ctx, created.pull.number, labels, created.pull.labels);
  const operation = created.created ? 'created' : 'updated';
  logger.info(
    `${created.created ? 'Created' : 'Updated'} pull request #${created.pull.number}: ${created.pull.url}`,
  );
  return {
    operation,
    number: created.pull.number,
    url: created.pull.url,
    branch,
    base,
    commitSha,
  };
}

// ---------------------------------------------------------------- inputs

function branchName(name: string | undefined): string | undefined {
  const trimmed = name?.trim().replace(/^refs\/heads\//, '');
  return trimmed ? trimmed : undefined;
}

function validateFiles(files: FileChange[]): FileChange[] {
  const seen = new Set<string>();
  for (const file of files) {
    const segments = file.path.split('/');
    const bad =
      file.path === '' ||
      file.path.includes('\\') ||
      file.path.includes('\0') ||
      segments.some((s) => s === '' || s === '.' || s === '..' || s === '.git');
    if (bad) {
      throw new ActionError(
        `Cannot commit '${file.path}': file paths must be repository-relative POSIX paths.`,
      );
    }
    if (seen.has(file.path)) throw new ActionError(`Cannot commit '${file.path}' twice.`);
    seen.add(file.path);
  }
  return files;
}

function normalizeLabels(labels: string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const label of labels) {
    const name = label.trim();
    if (!name || seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    out.push(name);
  }
  return out;
}

function fitBody(body: string, logger: Logger): string {
  if (body.length <= MAX_PULL_REQUEST_BODY) return body;
  logger.warning(
    `The pull request body has ${body.length} characters; GitHub allows ${MAX_PULL_REQUEST_BODY}. It was cut short.`,
  );
  const note = '\n\n_(cut short: GitHub limits a pull request body to 65536 characters)_';
  return body.slice(0, MAX_PULL_REQUEST_BODY - note.length) + note;
}

/** The SHA-1 git gives a blob with this content (`git hash-object`). */
export function gitBlobSha(content: string): string {
  const bytes = Buffer.from(content, 'utf8');
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

function normalizeNewlines(text: string): string {
  return text.replace(/\r\n/g, '\n');
}

// ---------------------------------------------------------------- base

async function resolveBase(
  ctx: Context,
  request: PullRequestRequest,
): Promise<{ base: string; source: BaseSource }> {
  const input = branchName(request.base);
  if (input) return { base: input, source: 'input' };
  const workflow = branchName(request.workflowBranch);
  if (workflow) return { base: workflow, source: 'workflow' };
  const repository = await getRepository(ctx);
  ctx.logger.info(
    `Using the default branch of ${ctx.full}, '${repository.defaultBranch}', as the base.`,
  );
  return { base: repository.defaultBranch, source: 'default' };
}

async function getRepository(ctx: Context): Promise<{ defaultBranch: string }> {
  try {
    const { data } = await ctx.octokit.rest.repos.get({ owner: ctx.owner, repo: ctx.repo });
    return { defaultBranch: data.default_branch };
  } catch (error) {
    throw toActionError(ctx, error, 'repository', 'read the repository');
  }
}

async function baseHeadSha(ctx: Context, base: string, source: BaseSource): Promise<string> {
  const sha = await getBranchSha(ctx, base, 'read the base branch');
  if (sha !== undefined) return sha;
  // A missing ref and an invisible repository both answer 404: tell them apart.
  if (source !== 'default') await getRepository(ctx);
  const why =
    source === 'input'
      ? 'input pull-request-base'
      : source === 'workflow'
        ? 'the branch this workflow ran on; set the pull-request-base input to choose another'
        : "the repository's default branch";
  throw new ActionError(`base branch '${base}' does not exist in ${ctx.full} (${why})`);
}

/** The head commit of a branch, or undefined when there is no such branch. */
async function getBranchSha(
  ctx: Context,
  branch: string,
  what: string,
): Promise<string | undefined> {
  try {
    const { data } = await ctx.octokit.rest.git.getRef({
      owner: ctx.owner,
      repo: ctx.repo,
      ref: `heads/${branch}`,
    });
    return data.object.sha;
  } catch (error) {
    if (httpStatus(error) === 404) return undefined;
    throw toActionError(ctx, error, 'contents', what);
  }
}

async function getCommit(
  ctx: Context,
  sha: string,
): Promise<{ treeSha: string; parents: string[] }> {
  try {
    const { data } = await ctx.octokit.rest.git.getCommit({
      owner: ctx.owner,
      repo: ctx.repo,
      commit_sha: sha,
    });
    return { treeSha: data.tree.sha, parents: data.parents.map((p) => p.sha) };
  } catch (error) {
    throw toActionError(ctx, error, 'contents', `read commit ${sha}`);
  }
}

async function listTree(ctx: Context, treeSha: string): Promise<TreeListing> {
  try {
    const { data } = await ctx.octokit.rest.git.getTree({
      owner: ctx.owner,
      repo: ctx.repo,
      tree_sha: treeSha,
      recursive: '1',
    });
    const entries = new Map<string, TreeEntry>();
    for (const entry of data.tree) {
      if (entry.path === undefined || entry.sha === undefined) continue;
      entries.set(entry.path, {
        path: entry.path,
        mode: entry.mode ?? '100644',
        type: entry.type ?? 'blob',
        sha: entry.sha,
      });
    }
    return { entries, truncated: data.truncated };
  } catch (error) {
    throw toActionError(ctx, error, 'contents', `read tree ${treeSha}`);
  }
}

/** The blob at each file's path in the base commit (absent: a new file). */
async function blobsAtBase(
  ctx: Context,
  baseHead: string,
  tree: TreeListing,
  files: FileChange[],
): Promise<Map<string, TreeEntry>> {
  const found = new Map<string, TreeEntry>();
  for (const file of files) {
    const entry = tree.truncated
      ? await contentEntry(ctx, baseHead, file.path)
      : tree.entries.get(file.path);
    if (!entry) continue;
    if (entry.type !== 'blob') {
      throw new ActionError(
        `Cannot write '${file.path}': it is a ${entry.type === 'tree' ? 'directory' : entry.type} in ${ctx.full}.`,
      );
    }
    if (entry.mode === '120000') {
      throw new ActionError(
        `Cannot write '${file.path}': it is a symbolic link in ${ctx.full}; rewrite the file it points to instead.`,
      );
    }
    found.set(file.path, entry);
  }
  return found;
}

/** One path through the contents API: for repositories whose tree is too large to list at once. */
async function contentEntry(
  ctx: Context,
  ref: string,
  path: string,
): Promise<TreeEntry | undefined> {
  try {
    const { data } = await ctx.octokit.rest.repos.getContent({
      owner: ctx.owner,
      repo: ctx.repo,
      path,
      ref,
    });
    if (Array.isArray(data)) return { path, mode: '040000', type: 'tree', sha: '' };
    if (data.type === 'file') return { path, mode: '100644', type: 'blob', sha: data.sha };
    return { path, mode: '', type: data.type, sha: data.sha };
  } catch (error) {
    if (httpStatus(error) === 404) return undefined;
    throw toActionError(ctx, error, 'contents', `read ${path}`);
  }
}

/** Whether `headSha` is one commit on top of `baseHead` whose tree is the base tree with the desired files. */
async function branchHasContent(
  ctx: Context,
  headSha: string,
  baseHead: string,
  baseTree: TreeListing,
  desired: DesiredFile[],
): Promise<boolean> {
  const head = await getCommit(ctx, headSha);
  if (head.parents.length !== 1 || head.parents[0] !== baseHead) {
    ctx.logger.info(
      `The pull request branch is not one commit on top of the base head: rewriting it.`,
    );
    return false;
  }
  if (baseTree.truncated) return false;
  const headTree = await listTree(ctx, head.treeSha);
  if (headTree.truncated) return false;
  const wanted = new Map(desired.map((file) => [file.path, file.blobSha]));
  const paths = new Set([...baseTree.entries.keys(), ...headTree.entries.keys(), ...wanted.keys()]);
  for (const path of paths) {
    const baseEntry = baseTree.entries.get(path);
    const headEntry = headTree.entries.get(path);
    // Directory hashes follow from their contents, which are compared one by one.
    if (baseEntry?.type === 'tree' && headEntry?.type === 'tree') continue;
    const expected = wanted.get(path) ?? baseEntry?.sha;
    if (expected !== headEntry?.sha) {
      ctx.logger.info(
        `The pull request branch differs from the new content at '${path}': rewriting it.`,
      );
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------- commit

interface WritePlan {
  branch: string;
  baseHead: string;
  baseTreeSha: string;
  message: string;
  files: DesiredFile[];
  /** An open pull request uses `branch`: never point it at the base head, even briefly. */
  pullOpen: boolean;
}

async function writeBranch(ctx: Context, plan: WritePlan): Promise<string> {
  const branchSha = await getBranchSha(ctx, plan.branch, 'read the pull request branch');
  try {
    const sha = await commitWithGraphql(ctx, plan, branchSha !== undefined);
    ctx.logger.info(
      `Committed ${plan.files.length} file(s) to '${plan.branch}' as ${sha} with GraphQL createCommitOnBranch (signed by GitHub).`,
    );
    return sha;
  } catch (error) {
    if (!graphqlUnavailable(error)) throw graphqlError(ctx, error, plan.branch);
    ctx.logger.warning(
      `GraphQL createCommitOnBranch is not available (${errorMessage(error)}); ` +
        'committing with the REST git data API instead.',
    );
  }
  const exists =
    (await getBranchSha(ctx, plan.branch, 'read the pull request branch')) !== undefined;
  const sha = await commitWithRest(ctx, plan, exists);
  ctx.logger.info(
    `Committed ${plan.files.length} file(s) to '${plan.branch}' as ${sha} with the REST git data API.`,
  );
  return sha;
}

const CREATE_COMMIT_ON_BRANCH = `mutation CreateCommitOnBranch($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) {
    commit {
      oid
      url
    }
  }
}`;

interface CreateCommitOnBranchData {
  createCommitOnBranch: { commit: { oid: string; url: string } | null } | null;
}

async function commitWithGraphql(
  ctx: Context,
  plan: WritePlan,
  branchExists: boolean,
): Promise<string> {
  // createCommitOnBranch only appends to an existing branch: start the branch
  // it commits to at the base head.
  const target = plan.pullOpen ? `${plan.branch}${STAGING_BRANCH_SUFFIX}` : plan.branch;
  if (target === plan.branch) {
    await setRef(ctx, target, plan.baseHead, branchExists);
  } else {
    const stagingExists =
      (await getBranchSha(ctx, target, 'read the staging branch')) !== undefined;
    await setRef(ctx, target, plan.baseHead, stagingExists);
  }
  try {
    const { headline, body } = splitMessage(plan.message);
    const input = {
      branch: { repositoryNameWithOwner: ctx.full, branchName: target },
      message: body ? { headline, body } : { headline },
      fileChanges: {
        additions: plan.files.map((file) => ({
          path: file.path,
          contents: Buffer.from(file.content, 'utf8').toString('base64'),
        })),
      },
      expectedHeadOid: plan.baseHead,
    };
    const data = await ctx.octokit.graphql<CreateCommitOnBranchData>(CREATE_COMMIT_ON_BRANCH, {
      input,
    });
    const oid = data.createCommitOnBranch?.commit?.oid;
    if (!oid) throw new ActionError('GitHub did not return the commit createCommitOnBranch made.');
    if (target !== plan.branch) await setRef(ctx, plan.branch, oid, true);
    return oid;
  } finally {
    if (target !== plan.branch) await deleteRef(ctx, target);
  }
}

async function commitWithRest(
  ctx: Context,
  plan: WritePlan,
  branchExists: boolean,
): Promise<string> {
  const repo = { owner: ctx.owner, repo: ctx.repo };
  try {
    const tree = [];
    for (const file of plan.files) {
      const { data: blob } = await ctx.octokit.rest.git.createBlob({
        ...repo,
        content: Buffer.from(file.content, 'utf8').toString('base64'),
        encoding: 'base64',
      });
      tree.push({
        path: file.path,
        mode: (file.mode === '100755' ? '100755' : '100644') as '100644' | '100755',
        type: 'blob' as const,
        sha: blob.sha,
      });
    }
    const { data: newTree } = await ctx.octokit.rest.git.createTree({
      ...repo,
      base_tree: plan.baseTreeSha,
      tree,
    });
    const { data: commit } = await ctx.octokit.rest.git.createCommit({
      ...repo,
      message: plan.message,
      tree: newTree.sha,
      parents: [plan.baseHead],
    });
    ctx.logger.debug(
      `Commit ${commit.sha} verified: ${String(commit.verification?.verified)} (${commit.verification?.reason ?? 'unknown'}).`,
    );
    // One ref update from the old head straight to the new commit.
    await setRef(ctx, plan.branch, commit.sha, branchExists);
    return commit.sha;
  } catch (error) {
    throw toActionError(ctx, error, 'contents', `commit to '${plan.branch}'`);
  }
}

function splitMessage(message: string): { headline: string; body: string } {
  const text = normalizeNewlines(message).trim();
  const newline = text.indexOf('\n');
  if (newline < 0) return { headline: text, body: '' };
  return { headline: text.slice(0, newline).trim(), body: text.slice(newline + 1).trim() };
}

/** Points `heads/{branch}` at `sha`, creating the ref or force-moving it. */
async function setRef(ctx: Context, branch: string, sha: string, exists: boolean): Promise<void> {
  const repo = { owner: ctx.owner, repo: ctx.repo };
  const update = () =>
    ctx.octokit.rest.git.updateRef({ ...repo, ref: `heads/${branch}`, sha, force: true });
  const create = () =>
    ctx.octokit.rest.git.createRef({ ...repo, ref: `refs/heads/${branch}`, sha });
  try {
    if (exists) {
      try {
        await update();
      } catch (error) {
        if (!(httpStatus(error) === 422 && /does not exist/i.test(errorMessage(error))))
          throw error;
        await create();
      }
    } else {
      try {
        await create();
      } catch (error) {
        if (!(httpStatus(error) === 422 && /already exists/i.test(errorMessage(error))))
          throw error;
        await update();
      }
    }
    ctx.logger.debug(`Branch '${branch}' now points at ${sha}.`);
  } catch (error) {
    throw toActionError(ctx, error, 'contents', `update branch '${branch}'`);
  }
}

async function deleteRef(ctx: Context, branch: string): Promise<void> {
  try {
    await ctx.octokit.rest.git.deleteRef({
      owner: ctx.owner,
      repo: ctx.repo,
      ref: `heads/${branch}`,
    });
  } catch (error) {
    if (httpStatus(error) === 404 || httpStatus(error) === 422) return;
    ctx.logger.warning(`Could not delete the staging branch '${branch}': ${errorMessage(error)}`);
  }
}

// ---------------------------------------------------------------- pulls

async function findOpenPull(
  ctx: Context,
  branch: string,
  base: string,
): Promise<OpenPull | undefined> {
  const pulls = await ctx.octokit.rest.pulls
    .list({
      owner: ctx.owner,
      repo: ctx.repo,
      state: 'open',
      head: `${ctx.owner}:${branch}`,
      per_page: 100,
    })
    .then(
      (response) => response.data,
      (error: unknown) => {
        throw toActionError(ctx, error, 'pulls', 'list pull requests');
      },
    );
  const pull = pulls.find((p) => p.base.ref === base) ?? pulls[0];
  if (!pull) return undefined;
  if (pulls.length > 1) {
    ctx.logger.warning(
      `${pulls.length} open pull requests use branch '${branch}'; updating #${pull.number}.`,
    );
  }
  return {
    number: pull.number,
    url: pull.html_url,
    title: pull.title,
    body: pull.body ?? '',
    base: pull.base.ref,
    headSha: pull.head.sha,
    labels: pull.labels.map((l) => l.name ?? '').filter((name) => name !== ''),
  };
}

interface PullFields {
  title: string;
  body: string;
  base: string;
}

async function createPull(
  ctx: Context,
  fields: PullFields & { branch: string },
  draft: boolean,
): Promise<{ pull: OpenPull; created: boolean }> {
  try {
    const { data } = await ctx.octokit.rest.pulls.create({
      owner: ctx.owner,
      repo: ctx.repo,
      title: fields.title,
      head: fields.branch,
      base: fields.base,
      body: fields.body,
      draft,
    });
    return {
      created: true,
      pull: {
        number: data.number,
        url: data.html_url,
        title: data.title,
        body: data.body ?? '',
        base: data.base.ref,
        headSha: data.head.sha,
        labels: data.labels.map((l) => l.name ?? '').filter((name) => name !== ''),
      },
    };
  } catch (error) {
    const message = errorMessage(error);
    if (draft && /draft pull requests are not supported/i.test(message)) {
      throw new ActionError(
        `${ctx.full} does not support draft pull requests (${message}). Set the draft input to false.`,
        { cause: error },
      );
    }
    if (!(httpStatus(error) === 422 && message.includes(MSG_PULL_EXISTS))) {
      throw toActionError(ctx, error, 'pulls', 'create a pull request');
    }
    // Another run opened it between our lookup and our create.
    ctx.logger.info(`A pull request for '${fields.branch}' was opened concurrently; updating it.`);
    const open = await findOpenPull(ctx, fields.branch, fields.base);
    if (!open) throw toActionError(ctx, error, 'pulls', 'create a pull request');
    await updatePull(ctx, open.number, fields);
    return { pull: open, created: false };
  }
}

async function updatePull(
  ctx: Context,
  number: number,
  fields: Partial<PullFields>,
): Promise<void> {
  try {
    await ctx.octokit.rest.pulls.update({
      owner: ctx.owner,
      repo: ctx.repo,
      pull_number: number,
      ...fields,
    });
  } catch (error) {
    throw toActionError(ctx, error, 'pulls', `update pull request #${number}`);
  }
}

/** Updates what differs; true when anything was changed. */
async function syncMetadata(
  ctx: Context,
  pull: OpenPull,
  fields: PullFields,
  labels: string[],
): Promise<boolean> {
  const changes: Partial<PullFields> = {};
  if (pull.title !== fields.title) changes.title = fields.title;
  if (normalizeNewlines(pull.body) !== normalizeNewlines(fields.body)) changes.body = fields.body;
  if (pull.base !== fields.base) changes.base = fields.base;
  const changed = Object.keys(changes);
  if (changed.length > 0) {
    await updatePull(ctx, pull.number, changes);
    ctx.logger.info(`Updated the ${changed.join(', ')} of pull request #${pull.number}.`);
  }
  const added = await addLabels(ctx, pull.number, labels, pull.labels);
  return changed.length > 0 || added;
}

/** Adds the labels the pull request does not have yet; true when any were added. */
async function addLabels(
  ctx: Context,
  number: number,
  labels: string[],
  present: string[],
): Promise<boolean> {
  const have = new Set(present.map((name) => name.toLowerCase()));
  const missing = labels.filter((name) => !have.has(name.toLowerCase()));
  if (missing.length === 0) return false;
  try {
    await ctx.octokit.rest.issues.addLabels({
      owner: ctx.owner,
      repo: ctx.repo,
      issue_number: number,
      labels: missing,
    });
  } catch (error) {
    throw toActionError(ctx, error, 'labels', `add labels to pull request #${number}`);
  }
  ctx.logger.info(`Added label(s) ${missing.join(', ')} to pull request #${number}.`);
  return true;
}

// ---------------------------------------------------------------- errors

function httpStatus(error: unknown): number | undefined {
  if (error && typeof error === 'object' && 'status' in error) {
    const status = (error as { status: unknown }).status;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

/** The `errors` of a GraphQL response error (`GraphqlResponseError`), if this is one. */
function graphqlErrors(error: unknown): Array<{ type?: string; message?: string }> | undefined {
  if (error && typeof error === 'object' && 'errors' in error && httpStatus(error) === undefined) {
    const errors = (error as { errors: unknown }).errors;
    if (Array.isArray(errors)) return errors as Array<{ type?: string; message?: string }>;
  }
  return undefined;
}

function isRateLimited(error: unknown): boolean {
  const status = httpStatus(error);
  return (status === 403 || status === 429) && /rate limit/i.test(errorMessage(error));
}

function isPermissionDenied(error: unknown): boolean {
  if (errorMessage(error).includes(MSG_NOT_ACCESSIBLE)) return true;
  return graphqlErrors(error)?.some((e) => e.type === 'FORBIDDEN') ?? false;
}

/** A GraphQL failure for which the REST git data API is worth trying: anything but permissions, credentials and races. */
function graphqlUnavailable(error: unknown): boolean {
  if (error instanceof ActionError) return false;
  if (isPermissionDenied(error) || isRateLimited(error)) return false;
  if (errorMessage(error).includes(MSG_STALE_HEAD)) return false;
  const status = httpStatus(error);
  if (status !== undefined) return status !== 401 && status !== 403;
  const errors = graphqlErrors(error);
  return errors !== undefined && !errors.some((e) => e.type === 'STALE_DATA');
}

function graphqlError(ctx: Context, error: unknown, branch: string): ActionError {
  if (error instanceof ActionError) return error;
  if (errorMessage(error).includes(MSG_STALE_HEAD)) {
    return new ActionError(
      `Branch '${branch}' of ${ctx.full} moved while the commit was being made ` +
        `(another run is probably updating it). Rerun the workflow. ${errorMessage(error)}`,
      { cause: error },
    );
  }
  return toActionError(ctx, error, 'contents', `commit to '${branch}'`);
}

function toActionError(ctx: Context, error: unknown, area: Area, what: string): ActionError {
  if (error instanceof ActionError) return error;
  const status = httpStatus(error);
  const message = errorMessage(error);
  const code = status === undefined ? '' : ` (HTTP ${status})`;
  if (message.includes(MSG_ACTIONS_NOT_PERMITTED)) {
    return new ActionError(
      `GitHub refused to ${what} in ${ctx.full}: GitHub Actions is not permitted to create or approve pull requests. ` +
        'Enable Settings > Actions > General > Workflow permissions > ' +
        '"Allow GitHub Actions to create and approve pull requests" for the repository (or its organization), ' +
        'or pass a GitHub App token (or a personal access token) as the github-token input.',
      { cause: error },
    );
  }
  if (status === 401) {
    return new ActionError(
      `GitHub rejected the token while trying to ${what} in ${ctx.full}${code}: ${message}. ` +
        'Check the github-token input: the token may have expired or been revoked.',
      { cause: error },
    );
  }
  if (isRateLimited(error)) {
    return new ActionError(
      `GitHub's API rate limit stopped the action while trying to ${what} in ${ctx.full}${code}: ${message}. ` +
        'Rerun the workflow later.',
      { cause: error },
    );
  }
  if (isPermissionDenied(error)) {
    const permission = area === 'contents' || area === 'repository' ? 'contents' : 'pull-requests';
    return new ActionError(
      `The token is not allowed to ${what} in ${ctx.full}${code}: ${message}. ` +
        `The job needs \`permissions: ${permission}: write\` (set jobs.<job>.permissions in the workflow), ` +
        `or pass a token with ${permission === 'contents' ? 'Contents' : 'Pull requests'}: read and write access as the github-token input. ` +
        'Runs triggered by pull requests from forks only get a read-only token.',
      { cause: error },
    );
  }
  if (status === 404 && area === 'repository') {
    return new ActionError(
      `Repository ${ctx.full} was not found, or the token cannot see it${code}. ` +
        'Check the repository name, and that the github-token input has access to it ' +
        '(a GitHub App must be installed on the repository; a fine-grained token must include it).',
      { cause: error },
    );
  }
  return new ActionError(`Could not ${what} in ${ctx.full}${code}: ${message}`, { cause: error });
}
