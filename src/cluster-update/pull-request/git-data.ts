/**
 * The repository through the REST git data API: the default branch, branch
 * heads, commits, trees and blobs, and moving or deleting refs.
 */
import { createHash } from 'node:crypto';
import { ActionError, errorMessage } from '../../core/errors.js';
import type { FileChange } from './types.js';
import { requestOptions, type BaseSource, type Context } from './context.js';
import { httpStatus, toActionError } from './github-errors.js';

interface TreeEntry {
  path: string;
  mode: string;
  type: string;
  sha: string;
}

export interface TreeListing {
  entries: Map<string, TreeEntry>;
  truncated: boolean;
}

export interface DesiredFile {
  path: string;
  content: string;
  blobSha: string;
  /** Mode of the file at the base head, when known. */
  mode: string | undefined;
}

/** The SHA-1 git gives a blob with this content (`git hash-object`). */
export function gitBlobSha(content: string): string {
  const bytes = Buffer.from(content, 'utf8');
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

export function normalizeNewlines(text: string): string {
  return text.replace(/\r\n/g, '\n');
}

export async function getRepository(ctx: Context): Promise<{ defaultBranch: string }> {
  try {
    const { data } = await ctx.octokit.rest.repos.get({
      owner: ctx.owner,
      repo: ctx.repo,
      ...requestOptions(ctx),
    });
    return { defaultBranch: data.default_branch };
  } catch (error) {
    throw toActionError(ctx, error, 'repository', 'read the repository');
  }
}

export async function baseHeadSha(ctx: Context, base: string, source: BaseSource): Promise<string> {
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
export async function getBranchSha(
  ctx: Context,
  branch: string,
  what: string,
): Promise<string | undefined> {
  try {
    const { data } = await ctx.octokit.rest.git.getRef({
      owner: ctx.owner,
      repo: ctx.repo,
      ...requestOptions(ctx),
      ref: `heads/${branch}`,
    });
    return data.object.sha;
  } catch (error) {
    if (httpStatus(error) === 404) return undefined;
    throw toActionError(ctx, error, 'contents', what);
  }
}

export async function getCommit(
  ctx: Context,
  sha: string,
): Promise<{ treeSha: string; parents: string[] }> {
  try {
    const { data } = await ctx.octokit.rest.git.getCommit({
      owner: ctx.owner,
      repo: ctx.repo,
      ...requestOptions(ctx),
      commit_sha: sha,
    });
    return { treeSha: data.tree.sha, parents: data.parents.map((p) => p.sha) };
  } catch (error) {
    throw toActionError(ctx, error, 'contents', `read commit ${sha}`);
  }
}

export async function listTree(ctx: Context, treeSha: string): Promise<TreeListing> {
  try {
    const { data } = await ctx.octokit.rest.git.getTree({
      owner: ctx.owner,
      repo: ctx.repo,
      ...requestOptions(ctx),
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
export async function blobsAtBase(
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

/** A blob's content, as UTF-8 text. */
export async function readBlob(ctx: Context, sha: string): Promise<string> {
  try {
    const { data } = await ctx.octokit.rest.git.getBlob({
      owner: ctx.owner,
      repo: ctx.repo,
      ...requestOptions(ctx),
      file_sha: sha,
    });
    return Buffer.from(data.content, data.encoding === 'base64' ? 'base64' : 'utf8').toString(
      'utf8',
    );
  } catch (error) {
    throw toActionError(ctx, error, 'contents', `read blob ${sha}`);
  }
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
      ...requestOptions(ctx),
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

/**
 * Whether `headSha` is one commit on top of `baseHead` whose tree is the base tree with the
 * desired files (`differing`: those of them whose content is not the base's).
 */
export async function branchHasContent(
  ctx: Context,
  headSha: string,
  baseHead: string,
  baseTree: TreeListing,
  desired: DesiredFile[],
  differing: DesiredFile[],
): Promise<boolean> {
  const head = await getCommit(ctx, headSha);
  if (head.parents.length !== 1 || head.parents[0] !== baseHead) {
    ctx.logger.info(
      `The pull request branch is not one commit on top of the base head: rewriting it.`,
    );
    return false;
  }
  if (baseTree.truncated) return commitChangesOnly(ctx, baseHead, headSha, differing);
  const headTree = await listTree(ctx, head.treeSha);
  if (headTree.truncated) return commitChangesOnly(ctx, baseHead, headSha, differing);
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

/** GitHub lists at most this many files in a comparison. */
const COMPARE_FILE_LIMIT = 300;

/**
 * For trees too large to list: whether the files `headSha` changes against `baseHead` are
 * exactly `differing`, with the desired content (GitHub's comparison of the two).
 */
async function commitChangesOnly(
  ctx: Context,
  baseHead: string,
  headSha: string,
  differing: DesiredFile[],
): Promise<boolean> {
  let files;
  try {
    const { data } = await ctx.octokit.rest.repos.compareCommitsWithBasehead({
      owner: ctx.owner,
      repo: ctx.repo,
      ...requestOptions(ctx),
      basehead: `${baseHead}...${headSha}`,
    });
    files = data.files ?? [];
  } catch (error) {
    throw toActionError(ctx, error, 'contents', 'compare the pull request branch with the base');
  }
  const wanted = new Map(differing.map((file) => [file.path, file.blobSha]));
  const same =
    files.length < COMPARE_FILE_LIMIT &&
    files.length === wanted.size &&
    files.every((f) => f.status !== 'removed' && wanted.get(f.filename) === f.sha);
  if (!same) {
    ctx.logger.info('The pull request branch differs from the new content: rewriting it.');
  }
  return same;
}

/** Points `heads/{branch}` at `sha`, creating the ref or force-moving it. */
export async function setRef(
  ctx: Context,
  branch: string,
  sha: string,
  exists: boolean,
): Promise<void> {
  const repo = { owner: ctx.owner, repo: ctx.repo, ...requestOptions(ctx) };
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

/** How long removing the staging branch may take: not under the run's signal (see deleteRef). */
const DELETE_STAGING_TIMEOUT_MS = 30_000;

/**
 * Removes the staging branch. It runs when the commit ends however it ends, also after the run
 * was cancelled, so its request has a bound of its own instead of the run's signal.
 */
export async function deleteRef(ctx: Context, branch: string): Promise<void> {
  try {
    await ctx.octokit.rest.git.deleteRef({
      owner: ctx.owner,
      repo: ctx.repo,
      request: { signal: AbortSignal.timeout(DELETE_STAGING_TIMEOUT_MS) },
      ref: `heads/${branch}`,
    });
  } catch (error) {
    if (httpStatus(error) === 404 || httpStatus(error) === 422) return;
    ctx.logger.warning(`Could not delete the staging branch '${branch}': ${errorMessage(error)}`);
  }
}
