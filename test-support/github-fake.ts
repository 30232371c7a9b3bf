/**
 * A local stand-in for the slice of the GitHub REST and GraphQL APIs the pull
 * request code uses: repositories, git refs/commits/trees/blobs, contents,
 * pulls, labels and the `createCommitOnBranch` mutation. State lives in
 * memory, every request is recorded for assertions, and knobs inject the
 * failures users hit (Actions not allowed to open pull requests, read-only
 * tokens, no GraphQL).
 *
 * It listens on 127.0.0.1 only. Build a client with
 * `getOctokit('test-token', { baseUrl: fake.url })`: Octokit's GraphQL client
 * posts to `${baseUrl}/graphql`, which this server serves.
 *
 * Git object IDs of blobs are real (`git hash-object`); tree and commit IDs are
 * stable SHA-1s of the fake's own encoding, not git's.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitHubFakeKnobs {
  /** POST /pulls answers 403 "GitHub Actions is not permitted to create or approve pull requests." */
  forbidPullRequestCreation: boolean;
  /** Writes to git refs/blobs/trees/commits answer 403 and createCommitOnBranch answers FORBIDDEN. */
  readOnlyContents: boolean;
  /** Only createCommitOnBranch answers FORBIDDEN (REST git writes still work). */
  forbidCommitMutation: boolean;
  /** POST /graphql answers 404, as if GraphQL were not there. */
  noGraphql: boolean;
  /** Writes to pulls and labels answer 403 "Resource not accessible by integration". */
  readOnlyPulls: boolean;
  /** Recursive tree listings come back `truncated: true` with part of the entries. */
  truncateTrees: boolean;
}

export interface FakeRepoInit {
  owner: string;
  name: string;
  /** Default `main`. */
  defaultBranch?: string;
  /** Files (path -> UTF-8 content) of the first commit on the default branch. */
  files?: Record<string, string>;
  /** More branches, each one commit on top of the default branch overlaying these files. */
  branches?: Record<string, Record<string, string>>;
}

export interface GitHubFakeInit extends Partial<GitHubFakeKnobs> {
  repos: FakeRepoInit[];
}

export interface FakeTreeEntry {
  mode: string;
  sha: string;
}

export interface FakeCommit {
  sha: string;
  treeSha: string;
  parents: string[];
  message: string;
  verified: boolean;
  /** How the commit was made. */
  via: 'seed' | 'graphql' | 'rest';
}

export interface FakePull {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  draft: boolean;
  state: 'open' | 'closed';
  labels: string[];
  /** Why the fake closed it (GitHub closes a pull request whose head has nothing ahead of its base). */
  closedBecause?: string;
}

export interface FakeRepo {
  owner: string;
  name: string;
  defaultBranch: string;
  /** Branch name -> commit SHA. */
  refs: Map<string, string>;
  commits: Map<string, FakeCommit>;
  /** Tree SHA -> flat map of file path -> entry. */
  trees: Map<string, Map<string, FakeTreeEntry>>;
  blobs: Map<string, Buffer>;
  pulls: FakePull[];
}

export interface FakeState {
  repos: Map<string, FakeRepo>;
  knobs: GitHubFakeKnobs;
  nextNumber: number;
}

export interface RecordedRequest {
  method: string;
  /** Decoded path, e.g. `/repos/o/r/git/ref/heads/main`. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body, if any. */
  body: unknown;
  /** Request headers, lower-case, without `authorization`. */
  headers: Record<string, string>;
  /** Whether an authorization header was sent (its value is never kept). */
  authorized: boolean;
  /** Status the fake answered. */
  status: number;
}

export interface FakeResponse {
  status: number;
  body?: unknown;
}

export interface GitHubFake {
  /** Base URL (`http://127.0.0.1:port`), for Octokit's baseUrl. */
  url: string;
  state: FakeState;
  knobs: GitHubFakeKnobs;
  requests: RecordedRequest[];
  /** Runs before each request is handled; returning a response answers it instead. */
  onRequest: ((request: RecordedRequest, fake: GitHubFake) => FakeResponse | void) | undefined;
  repo(fullName: string): FakeRepo;
  /** Files (path -> content) at a branch head, or at a commit SHA. */
  files(fullName: string, branchOrSha: string): Record<string, string>;
  head(fullName: string, branch: string): string | undefined;
  commit(fullName: string, sha: string): FakeCommit;
  /** Adds a commit on top of a branch (overlaying files), as a push by someone else would. */
  push(fullName: string, branch: string, files: Record<string, string>, message?: string): string;
  /** Opens a pull request directly in the state, as another run would. */
  openPull(fullName: string, pull: Partial<FakePull> & { head: string; base: string }): FakePull;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const NOT_ACCESSIBLE = 'Resource not accessible by integration';
const ACTIONS_NOT_PERMITTED = 'GitHub Actions is not permitted to create or approve pull requests.';

function sha1(text: string | Buffer): string {
  return createHash('sha1').update(text).digest('hex');
}

function blobSha(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

let commitCounter = 0;

function storeBlob(repo: FakeRepo, content: Buffer): string {
  const sha = blobSha(content);
  repo.blobs.set(sha, content);
  return sha;
}

function storeTree(repo: FakeRepo, entries: Map<string, FakeTreeEntry>): string {
  const sorted = [...entries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const sha = sha1(`tree\n${sorted.map(([p, e]) => `${e.mode} ${p} ${e.sha}`).join('\n')}`);
  repo.trees.set(sha, new Map(sorted));
  return sha;
}

function storeCommit(
  repo: FakeRepo,
  treeSha: string,
  parents: string[],
  message: string,
  via: FakeCommit['via'],
): FakeCommit {
  commitCounter += 1;
  const sha = sha1(`commit\n${treeSha}\n${parents.join(' ')}\n${commitCounter}\n${message}`);
  const commit: FakeCommit = { sha, treeSha, parents, message, verified: via !== 'seed', via };
  repo.commits.set(sha, commit);
  return commit;
}

function treeOf(repo: FakeRepo, commitSha: string): Map<string, FakeTreeEntry> {
  const commit = repo.commits.get(commitSha);
  const tree = commit && repo.trees.get(commit.treeSha);
  if (!tree) throw new Error(`fake: no tree for commit ${commitSha}`);
  return tree;
}

function overlay(
  repo: FakeRepo,
  base: Map<string, FakeTreeEntry>,
  files: Record<string, string>,
): string {
  const entries = new Map(base);
  for (const [path, content] of Object.entries(files)) {
    entries.set(path, {
      mode: base.get(path)?.mode ?? '100644',
      sha: storeBlob(repo, Buffer.from(content, 'utf8')),
    });
  }
  return storeTree(repo, entries);
}

function isAncestor(repo: FakeRepo, ancestor: string, of: string): boolean {
  const seen = new Set<string>();
  const queue = [of];
  while (queue.length > 0) {
    const sha = queue.pop() as string;
    if (sha === ancestor) return true;
    if (seen.has(sha)) continue;
    seen.add(sha);
    queue.push(...(repo.commits.get(sha)?.parents ?? []));
  }
  return false;
}

/** GitHub closes an open pull request when its head is gone or has nothing ahead of its base. */
function afterRefChange(repo: FakeRepo, branch: string): void {
  for (const pull of repo.pulls) {
    if (pull.state !== 'open' || pull.head !== branch) continue;
    const head = repo.refs.get(branch);
    const base = repo.refs.get(pull.base);
    if (head === undefined) {
      pull.state = 'closed';
      pull.closedBecause = 'head branch deleted';
    } else if (base !== undefined && isAncestor(repo, head, base)) {
      pull.state = 'closed';
      pull.closedBecause = 'head branch has no commits ahead of base';
    }
  }
}

function recursiveListing(
  tree: Map<string, FakeTreeEntry>,
  recursive: boolean,
): Array<{ path: string; mode: string; type: string; sha: string; size?: number }> {
  const dirs = new Map<string, string[]>();
  for (const [path, entry] of tree) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const list = dirs.get(dir) ?? [];
      list.push(`${entry.sha} ${path}`);
      dirs.set(dir, list);
    }
  }
  const out: Array<{ path: string; mode: string; type: string; sha: string; size?: number }> = [];
  for (const [dir, list] of dirs) {
    out.push({
      path: dir,
      mode: '040000',
      type: 'tree',
      sha: sha1(`dir\n${list.sort().join('\n')}`),
    });
  }
  for (const [path, entry] of tree) {
    out.push({
      path,
      mode: entry.mode,
      type: entry.mode === '160000' ? 'commit' : 'blob',
      sha: entry.sha,
    });
  }
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return recursive ? out : out.filter((e) => !e.path.includes('/'));
}

function createRepo(init: FakeRepoInit): FakeRepo {
  const repo: FakeRepo = {
    owner: init.owner,
    name: init.name,
    defaultBranch: init.defaultBranch ?? 'main',
    refs: new Map(),
    commits: new Map(),
    trees: new Map(),
    blobs: new Map(),
    pulls: [],
  };
  const root = storeCommit(
    repo,
    overlay(repo, new Map(), init.files ?? {}),
    [],
    'Initial commit',
    'seed',
  );
  repo.refs.set(repo.defaultBranch, root.sha);
  for (const [branch, files] of Object.entries(init.branches ?? {})) {
    const tree = overlay(repo, treeOf(repo, root.sha), files);
    repo.refs.set(branch, storeCommit(repo, tree, [root.sha], `Seed ${branch}`, 'seed').sha);
  }
  return repo;
}

// ---------------------------------------------------------------- JSON shapes

function commitJson(repo: FakeRepo, commit: FakeCommit) {
  const full = `${repo.owner}/${repo.name}`;
  return {
    sha: commit.sha,
    node_id: `C_${commit.sha.slice(0, 12)}`,
    url: `https://api.github.com/repos/${full}/git/commits/${commit.sha}`,
    html_url: `https://github.com/${full}/commit/${commit.sha}`,
    message: commit.message,
    tree: {
      sha: commit.treeSha,
      url: `https://api.github.com/repos/${full}/git/trees/${commit.treeSha}`,
    },
    parents: commit.parents.map((sha) => ({ sha, url: '', html_url: '' })),
    author: { name: 'fake', email: 'fake@example.com', date: '2026-01-01T00:00:00Z' },
    committer: { name: 'GitHub', email: 'noreply@github.com', date: '2026-01-01T00:00:00Z' },
    verification: {
      verified: commit.verified,
      reason: commit.verified ? 'valid' : 'unsigned',
      signature: null,
      payload: null,
      verified_at: null,
    },
  };
}

function pullJson(repo: FakeRepo, pull: FakePull) {
  const full = `${repo.owner}/${repo.name}`;
  return {
    id: pull.number * 1000,
    node_id: `PR_${pull.number}`,
    number: pull.number,
    url: `https://api.github.com/repos/${full}/pulls/${pull.number}`,
    html_url: `https://github.com/${full}/pull/${pull.number}`,
    state: pull.state,
    title: pull.title,
    body: pull.body,
    draft: pull.draft,
    labels: pull.labels.map((name, i) => ({ id: i + 1, name, color: 'ededed' })),
    head: {
      ref: pull.head,
      sha: repo.refs.get(pull.head) ?? '',
      label: `${repo.owner}:${pull.head}`,
      repo: { full_name: full },
    },
    base: {
      ref: pull.base,
      sha: repo.refs.get(pull.base) ?? '',
      label: `${repo.owner}:${pull.base}`,
      repo: { full_name: full },
    },
    user: { login: 'github-actions[bot]' },
  };
}

// ---------------------------------------------------------------- server

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function field<T>(body: unknown, name: string): T | undefined {
  if (body && typeof body === 'object' && name in body) {
    return (body as Record<string, unknown>)[name] as T;
  }
  return undefined;
}

function validationFailed(errors: unknown[]): HttpError {
  return new HttpError(422, 'Validation Failed', { errors });
}

export async function startGitHubFake(initial: GitHubFakeInit): Promise<GitHubFake> {
  const knobs: GitHubFakeKnobs = {
    forbidPullRequestCreation: initial.forbidPullRequestCreation ?? false,
    readOnlyContents: initial.readOnlyContents ?? false,
    forbidCommitMutation: initial.forbidCommitMutation ?? false,
    noGraphql: initial.noGraphql ?? false,
    readOnlyPulls: initial.readOnlyPulls ?? false,
    truncateTrees: initial.truncateTrees ?? false,
  };
  const state: FakeState = { repos: new Map(), knobs, nextNumber: 1 };
  for (const init of initial.repos) state.repos.set(`${init.owner}/${init.name}`, createRepo(init));
  const requests: RecordedRequest[] = [];

  const getRepo = (full: string): FakeRepo => {
    const repo = state.repos.get(full);
    if (!repo) throw new Error(`fake: no repository ${full}`);
    return repo;
  };

  const fake: GitHubFake = {
    url: '',
    state,
    knobs,
    requests,
    onRequest: undefined,
    repo: getRepo,
    files(full, branchOrSha) {
      const repo = getRepo(full);
      const sha = repo.refs.get(branchOrSha) ?? branchOrSha;
      const out: Record<string, string> = {};
      for (const [path, entry] of treeOf(repo, sha)) {
        out[path] = (repo.blobs.get(entry.sha) ?? Buffer.alloc(0)).toString('utf8');
      }
      return out;
    },
    head(full, branch) {
      return getRepo(full).refs.get(branch);
    },
    commit(full, sha) {
      const commit = getRepo(full).commits.get(sha);
      if (!commit) throw new Error(`fake: no commit ${sha}`);
      return commit;
    },
    push(full, branch, files, message = 'Someone else pushed') {
      const repo = getRepo(full);
      const parent = repo.refs.get(branch);
      if (!parent) throw new Error(`fake: no branch ${branch}`);
      const commit = storeCommit(
        repo,
        overlay(repo, treeOf(repo, parent), files),
        [parent],
        message,
        'seed',
      );
      repo.refs.set(branch, commit.sha);
      afterRefChange(repo, branch);
      return commit.sha;
    },
    openPull(full, pull) {
      const repo = getRepo(full);
      const created: FakePull = {
        number: state.nextNumber++,
        title: pull.title ?? 'Opened elsewhere',
        body: pull.body ?? '',
        head: pull.head,
        base: pull.base,
        draft: pull.draft ?? false,
        state: pull.state ?? 'open',
        labels: pull.labels ?? [],
      };
      repo.pulls.push(created);
      return created;
    },
    close: () => Promise.resolve(),
  };

  const handle = (
    method: string,
    segments: string[],
    query: Record<string, string>,
    body: unknown,
  ): FakeResponse => {
    if (segments[0] === 'graphql' && segments.length === 1 && method === 'POST') {
      return graphql(body);
    }
    if (segments[0] !== 'repos' || segments.length < 3) throw new HttpError(404, 'Not Found');
    const full = `${segments[1]}/${segments[2]}`;
    const repo = state.repos.get(full);
    if (!repo) throw new HttpError(404, 'Not Found');
    const rest = segments.slice(3);
    const [area, kind] = rest;

    if (rest.length === 0 && method === 'GET') {
      return {
        status: 200,
        body: {
          id: 1,
          node_id: 'R_1',
          name: repo.name,
          full_name: full,
          owner: { login: repo.owner },
          private: false,
          default_branch: repo.defaultBranch,
          html_url: `https://github.com/${full}`,
        },
      };
    }

    if (area === 'git') {
      const write = method !== 'GET';
      if (write && knobs.readOnlyContents) throw new HttpError(403, NOT_ACCESSIBLE);
      if (kind === 'ref' && method === 'GET') return getRef(repo, rest.slice(2).join('/'));
      if (kind === 'refs' && rest.length === 2 && method === 'POST') return createRef(repo, body);
      if (kind === 'refs' && rest.length > 2 && method === 'PATCH') {
        return updateRef(repo, rest.slice(2).join('/'), body);
      }
      if (kind === 'refs' && rest.length > 2 && method === 'DELETE') {
        return deleteRef(repo, rest.slice(2).join('/'));
      }
      if (kind === 'commits' && rest.length === 3 && method === 'GET') {
        const commit = repo.commits.get(rest[2] ?? '');
        if (!commit) throw new HttpError(404, 'Not Found');
        return { status: 200, body: commitJson(repo, commit) };
      }
      if (kind === 'commits' && rest.length === 2 && method === 'POST')
        return createCommit(repo, body);
      if (kind === 'trees' && rest.length === 3 && method === 'GET') {
        return getTree(repo, rest[2] ?? '', query['recursive'] !== undefined);
      }
      if (kind === 'trees' && rest.length === 2 && method === 'POST') return createTree(repo, body);
      if (kind === 'blobs' && rest.length === 2 && method === 'POST') return createBlob(repo, body);
      if (kind === 'blobs' && rest.length === 3 && method === 'GET') {
        const bytes = repo.blobs.get(rest[2] ?? '');
        if (!bytes) throw new HttpError(404, 'Not Found');
        return {
          status: 200,
          body: {
            sha: rest[2],
            size: bytes.length,
            encoding: 'base64',
            content: bytes.toString('base64'),
          },
        };
      }
      throw new HttpError(404, 'Not Found');
    }

    if (area === 'compare' && method === 'GET' && rest.length === 2) {
      // GET /repos/{o}/{r}/compare/{base}...{head}: the files that differ, with blob SHAs.
      const [baseRef = '', headRef = ''] = (rest[1] ?? '').split('...');
      const baseSha = repo.refs.get(baseRef) ?? baseRef;
      const headSha = repo.refs.get(headRef) ?? headRef;
      if (!repo.commits.has(baseSha) || !repo.commits.has(headSha)) {
        throw new HttpError(404, 'Not Found');
      }
      const before = treeOf(repo, baseSha);
      const after = treeOf(repo, headSha);
      const files = [...new Set([...before.keys(), ...after.keys()])]
        .sort()
        .filter((path) => before.get(path)?.sha !== after.get(path)?.sha)
        .map((path) => ({
          filename: path,
          status: !before.has(path) ? 'added' : !after.has(path) ? 'removed' : 'modified',
          sha: after.get(path)?.sha ?? null,
        }));
      return { status: 200, body: { status: 'ahead', ahead_by: 1, behind_by: 0, files } };
    }

    if (area === 'contents' && method === 'GET') {
      return getContents(repo, rest.slice(1).join('/'), query['ref']);
    }

    if (area === 'pulls') {
      if (rest.length === 1 && method === 'GET') return listPulls(repo, query);
      if (rest.length === 1 && method === 'POST') return createPull(repo, body);
      const pull = repo.pulls.find((p) => String(p.number) === kind);
      if (!pull || rest.length !== 2) throw new HttpError(404, 'Not Found');
      if (method === 'GET') return { status: 200, body: pullJson(repo, pull) };
      if (method === 'PATCH') return updatePull(repo, pull, body);
      throw new HttpError(404, 'Not Found');
    }

    if (area === 'issues' && rest[2] === 'labels' && rest.length === 3 && method === 'POST') {
      if (knobs.readOnlyPulls) throw new HttpError(403, NOT_ACCESSIBLE);
      const pull = repo.pulls.find((p) => String(p.number) === kind);
      if (!pull) throw new HttpError(404, 'Not Found');
      const labels = Array.isArray(body) ? body : field<unknown[]>(body, 'labels');
      if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')) {
        throw validationFailed([{ resource: 'Label', code: 'invalid', field: 'labels' }]);
      }
      for (const label of labels as string[]) {
        if (!pull.labels.some((l) => l.toLowerCase() === label.toLowerCase()))
          pull.labels.push(label);
      }
      return { status: 200, body: pullJson(repo, pull).labels };
    }

    throw new HttpError(404, 'Not Found');
  };

  function getRef(repo: FakeRepo, ref: string): FakeResponse {
    const branch = ref.startsWith('heads/') ? ref.slice('heads/'.length) : undefined;
    const sha = branch === undefined ? undefined : repo.refs.get(branch);
    if (sha === undefined) throw new HttpError(404, 'Not Found');
    return {
      status: 200,
      body: { ref: `refs/${ref}`, node_id: 'REF', object: { sha, type: 'commit', url: '' } },
    };
  }

  function createRef(repo: FakeRepo, body: unknown): FakeResponse {
    const ref = field<string>(body, 'ref');
    const sha = field<string>(body, 'sha');
    if (typeof ref !== 'string' || !ref.startsWith('refs/heads/') || ref.split('/').length < 3) {
      throw new HttpError(422, 'Reference name is not valid');
    }
    if (typeof sha !== 'string' || !repo.commits.has(sha)) {
      throw new HttpError(422, 'Object does not exist');
    }
    const branch = ref.slice('refs/heads/'.length);
    if (repo.refs.has(branch)) throw new HttpError(422, 'Reference already exists');
    repo.refs.set(branch, sha);
    return { status: 201, body: { ref, node_id: 'REF', object: { sha, type: 'commit', url: '' } } };
  }

  function updateRef(repo: FakeRepo, ref: string, body: unknown): FakeResponse {
    const branch = ref.startsWith('heads/') ? ref.slice('heads/'.length) : undefined;
    const sha = field<string>(body, 'sha');
    const force = field<boolean>(body, 'force') === true;
    const current = branch === undefined ? undefined : repo.refs.get(branch);
    if (branch === undefined || current === undefined) {
      throw new HttpError(422, 'Reference does not exist');
    }
    if (typeof sha !== 'string' || !repo.commits.has(sha)) {
      throw new HttpError(422, 'Object does not exist');
    }
    if (!force && !isAncestor(repo, current, sha)) {
      throw new HttpError(422, 'Update is not a fast forward');
    }
    repo.refs.set(branch, sha);
    afterRefChange(repo, branch);
    return {
      status: 200,
      body: { ref: `refs/${ref}`, node_id: 'REF', object: { sha, type: 'commit', url: '' } },
    };
  }

  function deleteRef(repo: FakeRepo, ref: string): FakeResponse {
    const branch = ref.startsWith('heads/') ? ref.slice('heads/'.length) : undefined;
    if (branch === undefined || !repo.refs.has(branch)) {
      throw new HttpError(422, 'Reference does not exist');
    }
    repo.refs.delete(branch);
    afterRefChange(repo, branch);
    return { status: 204 };
  }

  function getTree(repo: FakeRepo, sha: string, recursive: boolean): FakeResponse {
    const tree = repo.trees.get(sha);
    if (!tree) throw new HttpError(404, 'Not Found');
    let entries = recursiveListing(tree, recursive);
    const truncated = recursive && knobs.truncateTrees;
    if (truncated) entries = entries.slice(0, Math.floor(entries.length / 2));
    return { status: 200, body: { sha, url: '', tree: entries, truncated } };
  }

  function createBlob(repo: FakeRepo, body: unknown): FakeResponse {
    const content = field<string>(body, 'content');
    const encoding = field<string>(body, 'encoding') ?? 'utf-8';
    if (typeof content !== 'string')
      throw validationFailed([{ field: 'content', code: 'missing' }]);
    const bytes =
      encoding === 'base64' ? Buffer.from(content, 'base64') : Buffer.from(content, 'utf8');
    if (encoding === 'base64' && bytes.toString('base64') !== content.replace(/\s/g, '')) {
      throw new HttpError(422, 'Invalid base64 content');
    }
    const sha = storeBlob(repo, bytes);
    return { status: 201, body: { sha, url: '' } };
  }

  function createTree(repo: FakeRepo, body: unknown): FakeResponse {
    const baseTree = field<string>(body, 'base_tree');
    const items = field<unknown[]>(body, 'tree');
    if (!Array.isArray(items)) throw validationFailed([{ field: 'tree', code: 'missing' }]);
    let entries = new Map<string, FakeTreeEntry>();
    if (baseTree !== undefined) {
      const base = repo.trees.get(baseTree);
      if (!base) throw new HttpError(422, `base_tree ${baseTree} is not a tree in this repository`);
      entries = new Map(base);
    }
    for (const item of items) {
      const path = field<string>(item, 'path');
      const mode = field<string>(item, 'mode');
      const type = field<string>(item, 'type');
      const sha = field<string | null>(item, 'sha');
      const content = field<string>(item, 'content');
      if (typeof path !== 'string' || !['100644', '100755', '120000'].includes(mode ?? '')) {
        throw new HttpError(422, 'Invalid tree info');
      }
      if (type !== 'blob') throw new HttpError(422, 'Invalid tree info');
      if (sha === null) {
        entries.delete(path);
      } else if (typeof content === 'string') {
        entries.set(path, {
          mode: mode as string,
          sha: storeBlob(repo, Buffer.from(content, 'utf8')),
        });
      } else if (typeof sha === 'string' && repo.blobs.has(sha)) {
        entries.set(path, { mode: mode as string, sha });
      } else {
        throw new HttpError(422, 'Invalid tree info');
      }
    }
    const sha = storeTree(repo, entries);
    return {
      status: 201,
      body: { sha, url: '', tree: recursiveListing(entries, false), truncated: false },
    };
  }

  function createCommit(repo: FakeRepo, body: unknown): FakeResponse {
    const message = field<string>(body, 'message');
    const tree = field<string>(body, 'tree');
    const parents = field<unknown[]>(body, 'parents') ?? [];
    if (typeof message !== 'string')
      throw validationFailed([{ field: 'message', code: 'missing' }]);
    if (typeof tree !== 'string' || !repo.trees.has(tree))
      throw new HttpError(422, 'Tree SHA does not exist');
    if (!parents.every((p) => typeof p === 'string' && repo.commits.has(p))) {
      throw new HttpError(422, 'Parent SHA does not exist or is not a commit object');
    }
    const commit = storeCommit(repo, tree, parents as string[], message, 'rest');
    return { status: 201, body: commitJson(repo, commit) };
  }

  function getContents(repo: FakeRepo, path: string, ref: string | undefined): FakeResponse {
    const name = ref ?? repo.defaultBranch;
    const sha = repo.refs.get(name) ?? (repo.commits.has(name) ? name : undefined);
    if (sha === undefined) throw new HttpError(404, `No commit found for the ref ${name}`);
    const tree = treeOf(repo, sha);
    const entry = tree.get(path);
    if (entry) {
      const content = repo.blobs.get(entry.sha) ?? Buffer.alloc(0);
      return {
        status: 200,
        body: {
          type: entry.mode === '120000' ? 'symlink' : 'file',
          encoding: 'base64',
          size: content.length,
          name: path.split('/').pop(),
          path,
          content: content.toString('base64'),
          sha: entry.sha,
        },
      };
    }
    const children = recursiveListing(tree, true).filter(
      (e) => e.path.startsWith(`${path}/`) && !e.path.slice(path.length + 1).includes('/'),
    );
    if (children.length === 0) throw new HttpError(404, 'Not Found');
    return {
      status: 200,
      body: children.map((e) => ({
        type: e.type === 'tree' ? 'dir' : 'file',
        name: e.path.split('/').pop(),
        path: e.path,
        sha: e.sha,
      })),
    };
  }

  function listPulls(repo: FakeRepo, query: Record<string, string>): FakeResponse {
    const wanted = query['state'] ?? 'open';
    const head = query['head'];
    const [headOwner, headBranch] = head?.includes(':') ? head.split(/:(.*)/s) : [repo.owner, head];
    const pulls = repo.pulls.filter(
      (p) =>
        (wanted === 'all' || p.state === wanted) &&
        (head === undefined || (headOwner === repo.owner && p.head === headBranch)) &&
        (query['base'] === undefined || p.base === query['base']),
    );
    return { status: 200, body: pulls.map((p) => pullJson(repo, p)) };
  }

  function createPull(repo: FakeRepo, body: unknown): FakeResponse {
    if (knobs.forbidPullRequestCreation) throw new HttpError(403, ACTIONS_NOT_PERMITTED);
    if (knobs.readOnlyPulls) throw new HttpError(403, NOT_ACCESSIBLE);
    const title = field<string>(body, 'title');
    const rawHead = field<string>(body, 'head');
    const base = field<string>(body, 'base');
    if (typeof title !== 'string' || title === '') {
      throw validationFailed([{ resource: 'PullRequest', field: 'title', code: 'missing_field' }]);
    }
    const head = rawHead?.includes(':') ? rawHead.split(/:(.*)/s)[1] : rawHead;
    const headSha = head === undefined ? undefined : repo.refs.get(head);
    const baseSha = base === undefined ? undefined : repo.refs.get(base);
    if (headSha === undefined) {
      throw validationFailed([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
    }
    if (baseSha === undefined) {
      throw validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
    }
    if (repo.pulls.some((p) => p.state === 'open' && p.head === head && p.base === base)) {
      throw validationFailed([
        {
          resource: 'PullRequest',
          code: 'custom',
          message: `A pull request already exists for ${repo.owner}:${head}.`,
        },
      ]);
    }
    if (isAncestor(repo, headSha, baseSha)) {
      throw validationFailed([
        {
          resource: 'PullRequest',
          code: 'custom',
          message: `No commits between ${base} and ${head}`,
        },
      ]);
    }
    const pull = fake.openPull(`${repo.owner}/${repo.name}`, {
      title,
      body: field<string>(body, 'body') ?? '',
      head: head as string,
      base: base as string,
      draft: field<boolean>(body, 'draft') === true,
    });
    return { status: 201, body: pullJson(repo, pull) };
  }

  function updatePull(repo: FakeRepo, pull: FakePull, body: unknown): FakeResponse {
    if (knobs.readOnlyPulls) throw new HttpError(403, NOT_ACCESSIBLE);
    const title = field<string>(body, 'title');
    const text = field<string>(body, 'body');
    const base = field<string>(body, 'base');
    const newState = field<string>(body, 'state');
    if (base !== undefined && !repo.refs.has(base)) {
      throw validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
    }
    if (title !== undefined) pull.title = title;
    if (text !== undefined) pull.body = text;
    if (base !== undefined) pull.base = base;
    if (newState === 'open' || newState === 'closed') pull.state = newState;
    return { status: 200, body: pullJson(repo, pull) };
  }

  function graphqlError(type: string, message: string, data: unknown = null): FakeResponse {
    return {
      status: 200,
      body: {
        data,
        errors: [
          { type, path: ['createCommitOnBranch'], locations: [{ line: 2, column: 3 }], message },
        ],
      },
    };
  }

  function graphql(body: unknown): FakeResponse {
    if (knobs.noGraphql) throw new HttpError(404, 'Not Found');
    const query = field<string>(body, 'query') ?? '';
    if (!/\bcreateCommitOnBranch\b/.test(query) || !/^\s*mutation\b/.test(query)) {
      return {
        status: 200,
        body: { errors: [{ message: 'The fake serves only the createCommitOnBranch mutation.' }] },
      };
    }
    const input = field<unknown>(field<unknown>(body, 'variables'), 'input');
    const target = field<unknown>(input, 'branch');
    const nameWithOwner = field<string>(target, 'repositoryNameWithOwner');
    const branch = field<string>(target, 'branchName');
    const headline = field<string>(field<unknown>(input, 'message'), 'headline');
    const messageBody = field<string>(field<unknown>(input, 'message'), 'body');
    const expected = field<string>(input, 'expectedHeadOid');
    const changes = field<unknown>(input, 'fileChanges');
    const additions = field<unknown[]>(changes, 'additions') ?? [];
    const deletions = field<unknown[]>(changes, 'deletions') ?? [];
    if (
      typeof nameWithOwner !== 'string' ||
      typeof branch !== 'string' ||
      typeof headline !== 'string' ||
      typeof expected !== 'string'
    ) {
      return {
        status: 200,
        body: {
          errors: [
            {
              message:
                'Variable $input of type CreateCommitOnBranchInput! was provided invalid value',
            },
          ],
        },
      };
    }
    const repo = state.repos.get(nameWithOwner);
    if (!repo) {
      return graphqlError(
        'NOT_FOUND',
        `Could not resolve to a Repository with the name '${nameWithOwner}'.`,
      );
    }
    if (knobs.readOnlyContents || knobs.forbidCommitMutation) {
      return graphqlError('FORBIDDEN', NOT_ACCESSIBLE, { createCommitOnBranch: null });
    }
    const head = repo.refs.get(branch);
    if (head === undefined) {
      return graphqlError('NOT_FOUND', `A ref named "refs/heads/${branch}" does not exist.`, {
        createCommitOnBranch: null,
      });
    }
    if (head !== expected) {
      return graphqlError(
        'STALE_DATA',
        `Expected branch to point to "${expected}" but it did not. Pull and try again.`,
        { createCommitOnBranch: null },
      );
    }
    const entries = new Map(treeOf(repo, head));
    for (const addition of additions) {
      const path = field<string>(addition, 'path');
      const contents = field<string>(addition, 'contents');
      if (typeof path !== 'string' || typeof contents !== 'string') {
        return graphqlError('UNPROCESSABLE', 'A file addition needs a path and base64 contents.');
      }
      const bytes = Buffer.from(contents, 'base64');
      if (bytes.toString('base64') !== contents) {
        return graphqlError('UNPROCESSABLE', `The contents of ${path} are not valid base64.`);
      }
      entries.set(path, { mode: entries.get(path)?.mode ?? '100644', sha: storeBlob(repo, bytes) });
    }
    for (const deletion of deletions) {
      const path = field<string>(deletion, 'path');
      if (typeof path === 'string') entries.delete(path);
    }
    const message = messageBody ? `${headline}\n\n${messageBody}` : headline;
    const commit = storeCommit(repo, storeTree(repo, entries), [head], message, 'graphql');
    repo.refs.set(branch, commit.sha);
    afterRefChange(repo, branch);
    return {
      status: 200,
      body: {
        data: {
          createCommitOnBranch: {
            commit: {
              oid: commit.sha,
              url: `https://github.com/${nameWithOwner}/commit/${commit.sha}`,
            },
          },
        },
      },
    };
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const segments = url.pathname
        .split('/')
        .slice(1)
        .filter((s, i, all) => s !== '' || i < all.length - 1)
        .map((s) => decodeURIComponent(s));
      const query: Record<string, string> = {};
      url.searchParams.forEach((value, key) => {
        query[key] = value;
      });
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(req.headers)) {
        if (key === 'authorization' || value === undefined) continue;
        headers[key] = Array.isArray(value) ? value.join(', ') : value;
      }
      const raw = await readBody(req);
      const record: RecordedRequest = {
        method: req.method ?? 'GET',
        path: `/${segments.join('/')}`,
        query,
        body: undefined,
        headers,
        authorized: req.headers.authorization !== undefined,
        status: 0,
      };
      requests.push(record);
      let response: FakeResponse;
      try {
        if (raw !== '') {
          try {
            record.body = JSON.parse(raw) as unknown;
          } catch {
            throw new HttpError(400, 'Problems parsing JSON');
          }
        }
        response =
          fake.onRequest?.(record, fake) ?? handle(record.method, segments, query, record.body);
      } catch (error) {
        if (error instanceof HttpError) {
          response = {
            status: error.status,
            body: {
              message: error.message,
              ...error.extra,
              documentation_url: 'https://docs.github.com/rest',
              status: String(error.status),
            },
          };
        } else {
          response = { status: 500, body: { message: `fake: ${String(error)}` } };
        }
      }
      record.status = response.status;
      if (response.body === undefined) {
        res.writeHead(response.status);
        res.end();
      } else {
        res.writeHead(response.status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(response.body));
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  fake.url = `http://127.0.0.1:${port}`;
  fake.close = () =>
    new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error ? reject(error) : resolve()));
    });
  return fake;
}
