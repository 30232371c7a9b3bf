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
import { ActionError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { writeBranch } from './commit.js';
import type { BaseSource, Context } from './context.js';
import {
  baseHeadSha,
  blobsAtBase,
  branchHasContent,
  getCommit,
  getRepository,
  gitBlobSha,
  listTree,
  readBlob,
  type DesiredFile,
  type TreeListing,
} from './git-data.js';
import {
  addLabels,
  createPull,
  findOpenPull,
  syncMetadata,
  updatePull,
  type OpenPull,
} from './pulls.js';
import type {
  FileChange,
  PullRequestDeps,
  PullRequestRequest,
  PullRequestResult,
} from './types.js';

export type {
  FileChange,
  Octokit,
  PullRequestDeps,
  PullRequestRequest,
  PullRequestResult,
} from './types.js';

/** GitHub's limit on a pull request body, in characters. */
export const MAX_PULL_REQUEST_BODY = 65536;

export { STAGING_BRANCH_SUFFIX } from './commit.js';
export { gitBlobSha } from './git-data.js';

/** The request's inputs, checked and normalized before any GitHub call. */
interface CheckedRequest {
  branch: string;
  files: FileChange[];
  labels: string[];
  body: string;
}

/** The base branch and what is on it. */
interface BaseState {
  base: string;
  baseHead: string;
  baseTreeSha: string;
  baseTree: TreeListing;
}

/** Creates or updates the pull request so that `branch` is the base head plus one commit with `files`. */
export async function createOrUpdatePullRequest(
  request: PullRequestRequest,
  deps: PullRequestDeps,
): Promise<PullRequestResult> {
  const ctx: Context = {
    octokit: deps.octokit,
    logger: deps.logger,
    signal: deps.signal,
    owner: request.owner,
    repo: request.repo,
    full: `${request.owner}/${request.repo}`,
  };
  const checked = checkRequest(request, ctx.logger);
  const { branch } = checked;
  const state = await readBase(ctx, request, branch);
  const { base, baseHead, baseTree } = state;
  const { desired, changed } = await desiredFiles(ctx, state, checked.files);

  const open = await findOpenPull(ctx, branch, base);
  if (changed.length === 0) return nothingToCommit(ctx, branch, base, open);

  if (open && (await branchHasContent(ctx, open.headSha, baseHead, baseTree, desired, changed))) {
    return keepCommit(ctx, request, checked, base, open);
  }

  const commitSha = await writeBranch(ctx, {
    branch,
    baseHead,
    baseTreeSha: state.baseTreeSha,
    message: request.commitMessage,
    files: changed,
    pullOpen: open !== undefined,
  });

  if (open) return updateOpenPull(ctx, request, checked, base, open, commitSha);
  return openPull(ctx, request, checked, base, commitSha);
}

function checkRequest(request: PullRequestRequest, logger: Logger): CheckedRequest {
  const branch = branchName(request.branch);
  if (!branch) throw new ActionError('The pull request branch name is empty.');
  const files = validateFiles(request.files);
  const labels = normalizeLabels(request.labels);
  const body = fitBody(request.body, logger);
  return { branch, files, labels, body };
}

/** Resolves the base branch (never the pull request branch) and reads its head commit and tree. */
async function readBase(
  ctx: Context,
  request: PullRequestRequest,
  branch: string,
): Promise<BaseState> {
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
  ctx.logger.info(`Base branch '${base}' is at ${baseHead}.`);
  return { base, baseHead, baseTreeSha: baseCommit.treeSha, baseTree };
}

/** The files as they will be committed (`desired`), and those of them the base does not have yet. */
async function desiredFiles(
  ctx: Context,
  state: BaseState,
  validated: FileChange[],
): Promise<{ desired: DesiredFile[]; changed: DesiredFile[] }> {
  const { base } = state;
  const current = await blobsAtBase(ctx, state.baseHead, state.baseTree, validated);
  const files = await onBase(ctx, base, current, validated);
  const desired: DesiredFile[] = files.map((file) => ({
    ...file,
    blobSha: gitBlobSha(file.content),
    mode: current.get(file.path)?.mode,
  }));
  const changed = desired.filter((file) => current.get(file.path)?.sha !== file.blobSha);
  for (const file of desired) {
    if (!changed.includes(file))
      ctx.logger.debug(`${file.path} already has the new content on '${base}'.`);
  }
  return { desired, changed };
}

/** The base already has every file's new content: no commit, and an open pull request is not needed. */
function nothingToCommit(
  ctx: Context,
  branch: string,
  base: string,
  open: OpenPull | undefined,
): PullRequestResult {
  if (!open) {
    ctx.logger.info(`Every file already has the new content on '${base}': no pull request needed.`);
    return { operation: 'unchanged', branch, base };
  }
  ctx.logger.warning(
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

/** The open pull request already holds the content: only its title, body, base and labels may change. */
async function keepCommit(
  ctx: Context,
  request: PullRequestRequest,
  checked: CheckedRequest,
  base: string,
  open: OpenPull,
): Promise<PullRequestResult> {
  ctx.logger.info(
    `Pull request #${open.number} already holds this content on top of '${base}' (${open.headSha}).`,
  );
  const fields = { title: request.title, body: checked.body, base };
  const updated = await syncMetadata(ctx, open, fields, checked.labels);
  return {
    operation: updated ? 'updated' : 'unchanged',
    number: open.number,
    url: open.url,
    branch: checked.branch,
    base,
    commitSha: open.headSha,
  };
}

async function updateOpenPull(
  ctx: Context,
  request: PullRequestRequest,
  checked: CheckedRequest,
  base: string,
  open: OpenPull,
  commitSha: string,
): Promise<PullRequestResult> {
  await updatePull(ctx, open.number, { title: request.title, body: checked.body, base });
  await addLabels(ctx, open.number, checked.labels, open.labels);
  ctx.logger.info(`Updated pull request #${open.number}: ${open.url}`);
  return {
    operation: 'updated',
    number: open.number,
    url: open.url,
    branch: checked.branch,
    base,
    commitSha,
  };
}

async function openPull(
  ctx: Context,
  request: PullRequestRequest,
  checked: CheckedRequest,
  base: string,
  commitSha: string,
): Promise<PullRequestResult> {
  const { branch } = checked;
  const created = await createPull(
    ctx,
    { branch, base, title: request.title, body: checked.body },
    request.draft,
  );
  await addLabels(ctx, created.pull.number, checked.labels, created.pull.labels);
  const operation = created.created ? 'created' : 'updated';
  ctx.logger.info(
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

/**
 * The files as the pull request must write them: a file whose copy on the base is not the one
 * the change was made to gets the change made to the base's copy instead.
 */
async function onBase(
  ctx: Context,
  base: string,
  current: Map<string, { sha: string }>,
  files: FileChange[],
): Promise<FileChange[]> {
  const out: FileChange[] = [];
  for (const file of files) {
    const atBase = current.get(file.path);
    if (file.original === undefined) {
      out.push(file);
      continue;
    }
    if (!atBase) {
      ctx.logger.warning(
        `${file.path} is not on '${base}': the pull request adds it. If the repository is checked out in a subdirectory of the workspace, the paths are off by that directory.`,
      );
      out.push(file);
      continue;
    }
    const unchanged = atBase.sha === gitBlobSha(file.original);
    if (unchanged || atBase.sha === gitBlobSha(file.content) || !file.reapply) {
      out.push(file);
      continue;
    }
    const baseContent = await readBlob(ctx, atBase.sha);
    ctx.logger.info(
      `${file.path} on '${base}' is not the checked-out copy (it changed since, or the workflow ran on another branch): the change is made to '${base}''s version.`,
    );
    out.push({ ...file, original: baseContent, content: file.reapply(baseContent) });
  }
  return out;
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
