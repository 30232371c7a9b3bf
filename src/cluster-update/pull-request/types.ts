/**
 * The shapes the pull request parts share: the Octokit client, what the facade (./index.ts)
 * is asked to do and what it answers, and the deps each part is given. Here, not in
 * ./index.ts, so the parts never import the facade that imports them.
 */
import type { getOctokit } from '@actions/github';
import type { Deps } from '../../core/deps.js';

/** The Octokit the action entry point builds with `@actions/github`'s `getOctokit`. */
export type Octokit = ReturnType<typeof getOctokit>;

/**
 * What the pull request parts are given besides the request: the GitHub client, the logger
 * and the signal every API call is made with. No clock: nothing here waits.
 */
export interface PullRequestDeps extends Pick<Deps, 'logger' | 'signal'> {
  octokit: Octokit;
}

export interface FileChange {
  /** Repository-relative POSIX path. */
  path: string;
  /** New full content, UTF-8. */
  content: string;
  /** The content the change was made to (the checkout's copy). */
  original?: string;
  /**
   * Makes the same change to another version of the file. Used when the base branch's copy
   * is not `original` (it moved on since the checkout, or is another branch), so the pull
   * request never reverts what is on the base.
   */
  reapply?: (content: string) => string;
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
