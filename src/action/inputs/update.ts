/**
 * The cluster update's inputs: which manifests to rewrite (update-files, checked for absolute
 * paths and '..' before any AWS call), which targets in them, and the pull request to open.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../../core/errors.js';
import { splitList } from '../../config/image-ref.js';
import { checkPatterns, DEFAULT_MAX_FILE_MIB } from '../../cluster-update/manifests/files.js';
import type { PullRequestConfig, UpdateConfig } from '../../config/types.js';
import {
  optional,
  optionalInteger,
  parseBoolean,
  read,
  required,
  type InputReader,
} from './read.js';

/** Git's ref name rules (git check-ref-format), as far as a branch name given as input needs them. */
function isBranchName(name: string): boolean {
  if (name.length === 0 || name.length > 200) return false;
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.') || name.endsWith('.lock'))
    return false;
  if (name.includes('..') || name.includes('//') || name.includes('/.') || name.includes('@{'))
    return false;
  return ![...name].some((c) => c <= ' ' || c === '\x7f' || '~^:?*[\\'.includes(c));
}

function defaultBranch(patterns: string[], targets: string[]): string {
  const key = createHash('sha256')
    .update(JSON.stringify([patterns, targets]))
    .digest('hex')
    .slice(0, 8);
  return `bottlerocket-ebs-snapshot/update-${key}`;
}

/** The update-files patterns, comments and blank lines dropped. */
function updatePatterns(get: InputReader): string[] {
  const lines = get('update-files')
    .split(/\r?\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '' && !p.startsWith('#'));
  // Absolute paths and '..' are refused here, before any AWS call.
  return lines.length > 0 ? checkPatterns(lines) : [];
}

/** Without update-files, the inputs that only work with it are mistakes. */
function refuseWithoutFiles(get: InputReader, createPullRequest: boolean): void {
  if (createPullRequest) {
    throw new InputError(
      'create-pull-request',
      "is true but 'update-files' lists no file to update.",
    );
  }
  for (const name of ['update-targets', 'volume-initialization-rate']) {
    if (optional(get, name) !== undefined) throw new InputError(name, "needs 'update-files' too.");
  }
}

export function parsePullRequestInputs(
  get: InputReader,
  patterns: string[],
  targets: string[],
): PullRequestConfig {
  const token = required(get, 'github-token');
  const branch = optional(get, 'pull-request-branch') ?? defaultBranch(patterns, targets);
  if (!isBranchName(branch))
    throw new InputError('pull-request-branch', `'${branch}' is not a valid branch name.`);
  const base = optional(get, 'pull-request-base');
  if (base !== undefined && !isBranchName(base))
    throw new InputError('pull-request-base', `'${base}' is not a valid branch name.`);
  const pr: PullRequestConfig = {
    token,
    branch,
    labels: splitList(get('pull-request-labels')),
    draft: parseBoolean('pull-request-draft', read(get, 'pull-request-draft') || 'false'),
  };
  if (base !== undefined) pr.base = base;
  const title = optional(get, 'pull-request-title');
  if (title !== undefined) pr.title = title;
  const commitMessage = optional(get, 'commit-message');
  if (commitMessage !== undefined) pr.commitMessage = commitMessage;
  return pr;
}

export function parseUpdateInputs(get: InputReader): UpdateConfig | undefined {
  const patterns = updatePatterns(get);
  const createPullRequest = parseBoolean(
    'create-pull-request',
    read(get, 'create-pull-request') || 'false',
  );
  if (patterns.length === 0) {
    refuseWithoutFiles(get, createPullRequest);
    return undefined;
  }
  const targets = splitList(get('update-targets'));
  const maxMiB = optionalInteger(get, 'update-files-max-size', 1, 256) ?? DEFAULT_MAX_FILE_MIB;
  const update: UpdateConfig = { patterns, targets, maxFileBytes: maxMiB * 1024 * 1024 };
  const rate = optionalInteger(get, 'volume-initialization-rate', 100, 300);
  if (rate !== undefined) update.volumeInitializationRate = rate;
  if (createPullRequest) update.pullRequest = parsePullRequestInputs(get, patterns, targets);
  return update;
}
