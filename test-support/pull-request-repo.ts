/**
 * The repository the pull request tests work on: a GitHub fake (./github-fake.ts) holding
 * acme/infra with an eksctl and a Karpenter manifest, the client and logger the code under
 * test is given, and the request they open. Shared by the pull request parts' unit tests
 * (__tests__/unit/cluster-update/pull-request/) and the facade's integration test.
 */
import { getOctokit } from '@actions/github';
import type { Context } from '../src/cluster-update/pull-request/context.js';
import type { Octokit, PullRequestRequest } from '../src/cluster-update/pull-request/types.js';
import {
  startGitHubFake,
  type GitHubFake,
  type GitHubFakeInit,
  type RecordedRequest,
} from './github-fake.js';
import { MemoryLogger } from './memory-logger.js';

export const TIMEOUT = 20_000;
export const TOKEN = 'test-token';
export const OWNER = 'acme';
export const REPO = 'infra';
export const FULL = `${OWNER}/${REPO}`;
export const BRANCH = 'bottlerocket-snapshot/prod';

export const BASE_FILES = {
  'README.md': '# infra\n',
  'clusters/prod.yaml': 'managedNodeGroups:\n  - name: ng-1\n    volumeSnapshot: snap-0aaa\n',
  'karpenter/nodeclass.yaml': 'kind: EC2NodeClass\nsnapshotID: snap-0aaa\n',
};

export const NEW_FILES = {
  'clusters/prod.yaml': 'managedNodeGroups:\n  - name: ng-1\n    volumeSnapshot: snap-0bbb\n',
  'karpenter/nodeclass.yaml': 'kind: EC2NodeClass\nsnapshotID: snap-0bbb\n',
};

export const NEWER_FILES = {
  'clusters/prod.yaml': 'managedNodeGroups:\n  - name: ng-1\n    volumeSnapshot: snap-0ccc\n',
  'karpenter/nodeclass.yaml': 'kind: EC2NodeClass\nsnapshotID: snap-0ccc\n',
};

export function changes(files: Record<string, string>) {
  return Object.entries(files).map(([path, content]) => ({ path, content }));
}

export function pr(overrides: Partial<PullRequestRequest> = {}): PullRequestRequest {
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

/** A signal nothing aborts, for the calls a test lets run to the end. */
export const signal = new AbortController().signal;

let current: GitHubFake | undefined;

/**
 * Starts the fake with acme/infra (main holding BASE_FILES, plus a branch `release`) unless
 * `init` says otherwise. Call `closeFake` in afterEach.
 */
export async function setup(init: Partial<GitHubFakeInit> = {}) {
  const fake = await startGitHubFake({
    repos: [{ owner: OWNER, name: REPO, files: BASE_FILES, branches: { release: {} } }],
    ...init,
  });
  current = fake;
  // The runner's proxy settings must not reach loopback requests: use Node's own fetch.
  const octokit: Octokit = getOctokit(TOKEN, {
    baseUrl: fake.url,
    request: { fetch: globalThis.fetch },
  });
  return { fake, octokit, logger: new MemoryLogger() };
}

export async function closeFake(): Promise<void> {
  await current?.close();
  current = undefined;
}

/** The context the pull request parts take, for `repo` (default acme/infra). */
export function contextFor(octokit: Octokit, logger: MemoryLogger, repo = REPO): Context {
  return { octokit, logger, signal, owner: OWNER, repo, full: `${OWNER}/${repo}` };
}

export const line = (r: RecordedRequest) => `${r.method} ${r.path}`;
export const writes = (requests: RecordedRequest[]) => requests.filter((r) => r.method !== 'GET');
