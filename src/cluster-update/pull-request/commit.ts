/**
 * Writes the pull request branch's single commit on top of the base head: with
 * the GraphQL createCommitOnBranch mutation (a commit GitHub signs), or with the
 * REST git data API when GraphQL is not available.
 */
import { ActionError, errorMessage } from '../../core/errors.js';
import { requestOptions, type Context } from './context.js';
import {
  deleteRef,
  getBranchSha,
  normalizeNewlines,
  setRef,
  type DesiredFile,
} from './git-data.js';
import { graphqlError, graphqlUnavailable, toActionError } from './github-errors.js';

/** Suffix of the short-lived branch a new commit is built on while a pull request is open. */
export const STAGING_BRANCH_SUFFIX = '-staging';

interface WritePlan {
  branch: string;
  baseHead: string;
  baseTreeSha: string;
  message: string;
  files: DesiredFile[];
  /** An open pull request uses `branch` (the branch then exists too). */
  pullOpen: boolean;
}

export async function writeBranch(ctx: Context, plan: WritePlan): Promise<string> {
  const branchSha = await getBranchSha(ctx, plan.branch, 'read the pull request branch');
  try {
    const sha = await commitWithGraphql(ctx, plan, branchSha !== undefined);
    ctx.logger.info(
      `Committed ${plan.files.length} file(s) to '${plan.branch}' as ${sha} with GraphQL createCommitOnBranch (signed by GitHub).`,
    );
    return sha;
  } catch (error) {
    if (ctx.signal.aborted || !graphqlUnavailable(error))
      throw graphqlError(ctx, error, plan.branch);
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
  // createCommitOnBranch only appends to an existing branch: start the branch it commits to at
  // the base head. An existing branch is never reset to the base head, even briefly: a pull
  // request on it (open, or opened meanwhile by an overlapping run) would be closed by GitHub.
  // The commit is made on a staging branch and the branch moved to it in one step.
  const target =
    plan.pullOpen || branchExists ? `${plan.branch}${STAGING_BRANCH_SUFFIX}` : plan.branch;
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
      ...requestOptions(ctx),
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
  const repo = { owner: ctx.owner, repo: ctx.repo, ...requestOptions(ctx) };
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
