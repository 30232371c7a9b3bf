/**
 * The bundled action's second half, run as the runner runs it: rewrite the
 * workspace's eksctl and Karpenter manifests to the new snapshot and open or
 * update a pull request through a local fake of GitHub's REST and GraphQL APIs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_INPUTS, startEmulator, type Emulator } from '../../test-support/emulator.js';
import {
  describeDenials,
  evaluateCalls,
  examplePolicies,
  saveEvaluation,
} from '../../test-support/iam-evaluate.js';
import { startGitHubFake, type GitHubFake } from '../../test-support/github-fake.js';
import { REPO_ROOT, runMainAndPost } from '../../test-support/runner.js';

const PAUSE = 'public.ecr.aws/eks-distro/kubernetes/pause:3.2';
const FIXTURES = join(REPO_ROOT, '__fixtures__/manifests');
const EKSCTL = 'clusters/prod.yaml';
const KARPENTER = 'karpenter/nodeclasses/bottlerocket.yaml';
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

let emu: Emulator;
let github: GitHubFake;
const workspaces: string[] = [];

beforeAll(async () => {
  emu = await startEmulator([{ ref: PAUSE, platforms: ['linux/amd64'] }]);
  github = await startGitHubFake({
    repos: [
      {
        owner: 'acme',
        name: 'platform',
        files: {
          [EKSCTL]: fixture('eksctl-article.yaml'),
          [KARPENTER]: fixture('karpenter-v1-ec2nodeclass.yaml'),
        },
      },
    ],
  });
}, 60_000);
afterAll(async () => {
  await github?.close();
  await emu?.close();
  for (const w of workspaces) rmSync(w, { recursive: true, force: true });
}, 30_000);

/** A fresh checkout of main, as actions/checkout would leave it. */
function checkout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bes-workspace-'));
  workspaces.push(dir);
  for (const [path, content] of Object.entries(github.files('acme/platform', 'main'))) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    cpSync(
      join(FIXTURES, path === EKSCTL ? 'eksctl-article.yaml' : 'karpenter-v1-ec2nodeclass.yaml'),
      join(dir, path),
    );
    expect(readFileSync(join(dir, path), 'utf8')).toBe(content);
  }
  return dir;
}

function options(workspace: string, inputs: Record<string, string>) {
  return {
    inputs: {
      ...BUILD_INPUTS,
      'github-token': 'ghs_testtoken123',
      'update-files': 'clusters/**/*.yaml\nkarpenter/nodeclasses/*.yaml',
      ...inputs,
    },
    env: {
      ...emu.env,
      GITHUB_WORKSPACE: workspace,
      GITHUB_API_URL: github.url,
      GITHUB_RUN_ID: '777',
    },
    timeoutMs: 90_000,
  };
}

describe('manifests and pull request', () => {
  let firstSnapshot = '';

  it('builds, rewrites only the data-volume snapshot IDs, and opens one pull request', async () => {
    const workspace = checkout();
    const { main } = await runMainAndPost(
      options(workspace, {
        images: PAUSE,
        'create-pull-request': 'true',
        'pull-request-labels': 'node-cache',
      }),
    );
    expect(main.stdout).not.toContain('::error::');
    expect(main.code).toBe(0);
    firstSnapshot = main.outputs['snapshot-id'] ?? '';
    expect(firstSnapshot).toMatch(/^snap-/);

    // The workspace file differs from the original only on the data volume's snapshot ID. The
    // article's entry has no volumeSize, so eksctl gives it 80 GiB: more than the 50 GiB
    // snapshot needs, and no size is written (writing 50 would shrink the nodes' data volume).
    const before = fixture('eksctl-article.yaml').split('\n');
    const after = readFileSync(join(workspace, EKSCTL), 'utf8').split('\n');
    expect(after.filter((line) => !before.includes(line)).map((l) => l.trim())).toEqual([
      `snapshotID: ${firstSnapshot}`,
    ]);
    expect(before.filter((line) => !after.includes(line)).map((l) => l.trim())).toEqual([
      expect.stringMatching(/^snapshotID: snap-/),
    ]);
    expect(after).toHaveLength(before.length);

    const updated = JSON.parse(main.outputs['updated-files'] ?? '[]') as Array<{
      path: string;
      targets: Array<{ name: string; snapshotId: string }>;
    }>;
    expect(updated.map((f) => f.path).sort()).toEqual([EKSCTL, KARPENTER]);
    expect(updated.flatMap((f) => f.targets.map((t) => t.snapshotId))).toEqual(
      expect.arrayContaining([firstSnapshot]),
    );

    expect(main.outputs['pull-request-operation']).toBe('created');
    const number = Number(main.outputs['pull-request-number']);
    const pull = github.repo('acme/platform').pulls.find((p) => p.number === number);
    expect(pull?.state).toBe('open');
    expect(pull?.labels).toEqual(['node-cache']);
    expect(pull?.body).toContain(firstSnapshot);
    expect(pull?.body).toContain('drift');
    // The branch is main plus exactly one verified commit carrying the workspace's files.
    const head = github.head('acme/platform', pull?.head ?? '') ?? '';
    const commit = github.commit('acme/platform', head);
    expect(commit.parents).toEqual([github.head('acme/platform', 'main')]);
    expect(commit.verified).toBe(true);
    expect(github.files('acme/platform', head)[EKSCTL]).toBe(
      readFileSync(join(workspace, EKSCTL), 'utf8'),
    );
    // The token was registered as a secret (the runner hides it) and is printed nowhere else.
    expect(main.stdout).toContain('::add-mask::ghs_testtoken123');
    expect(main.stdout.replace(/^::add-mask::.*$/gm, '')).not.toContain('ghs_testtoken123');
    expect(main.summary).toContain('### Manifests');
    // The article's other group is Bottlerocket with the implicit data volume: the summary says
    // what to add to it, with this snapshot.
    expect(main.summary).toContain(
      "- `clusters/prod.yaml:12` eksctl managed node group 'no-prefetch-mng', to the node group:",
    );
    expect(main.summary).toContain(`    snapshotID: ${firstSnapshot}`);
  }, 120_000);

  it('promoting the same snapshot makes no commit; a second promotion changes nothing at all', async () => {
    const commits = github.repo('acme/platform').commits.size;
    const first = await runMainAndPost(
      options(checkout(), { 'snapshot-id': firstSnapshot, 'create-pull-request': 'true' }),
    );
    expect(first.main.code).toBe(0);
    // Same files: no commit. The body is rewritten from the snapshot's tags (no digests), so it is refreshed.
    expect(first.main.outputs['pull-request-operation']).toBe('updated');
    const second = await runMainAndPost(
      options(checkout(), { 'snapshot-id': firstSnapshot, 'create-pull-request': 'true' }),
    );
    expect(second.main.code).toBe(0);
    expect(second.main.outputs['pull-request-operation']).toBe('unchanged');
    expect(github.repo('acme/platform').commits.size).toBe(commits);
    expect(github.repo('acme/platform').pulls.filter((p) => p.state === 'open')).toHaveLength(1);
  }, 60_000);

  it('a new build updates the same pull request instead of opening another', async () => {
    const workspace = checkout();
    const { main } = await runMainAndPost(
      options(workspace, { images: PAUSE, 'create-pull-request': 'true' }),
    );
    expect(main.code).toBe(0);
    expect(main.outputs['pull-request-operation']).toBe('updated');
    const open = github.repo('acme/platform').pulls.filter((p) => p.state === 'open');
    expect(open).toHaveLength(1);
    expect(open[0]?.body).toContain(main.outputs['snapshot-id']);
  }, 120_000);

  it('explains the repository setting when Actions may not open pull requests', async () => {
    github.knobs.forbidPullRequestCreation = true;
    try {
      const workspace = checkout();
      const { main } = await runMainAndPost(
        options(workspace, {
          'snapshot-id': firstSnapshot,
          'create-pull-request': 'true',
          'pull-request-branch': 'cache/other',
        }),
      );
      expect(main.code).toBe(1);
      expect(main.stdout).toContain('Allow GitHub Actions to create and approve pull requests');
    } finally {
      github.knobs.forbidPullRequestCreation = false;
    }
  }, 60_000);

  it('only rewrites the workspace without create-pull-request', async () => {
    const workspace = checkout();
    const requests = github.requests.length;
    const { main, post } = await runMainAndPost(
      options(workspace, { 'snapshot-id': firstSnapshot, 'update-targets': 'prefetch-mng' }),
    );
    // A promotion creates nothing, so the post step needs no credentials and does nothing.
    expect(post.stdout).toContain('nothing to clean up');
    expect(post.stdout).not.toContain('add-mask');
    expect(main.code).toBe(0);
    expect(readFileSync(join(workspace, EKSCTL), 'utf8')).toContain(firstSnapshot);
    expect(readFileSync(join(workspace, KARPENTER), 'utf8')).toBe(
      fixture('karpenter-v1-ec2nodeclass.yaml'),
    );
    expect(main.outputs['pull-request-operation']).toBeUndefined();
    expect(github.requests.length).toBe(requests);
  }, 60_000);
});

describe('at scale', () => {
  it("10,000 node classes: the outputs and the job summary stay within GitHub's 1 MiB, saying what was left out", async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'bes-workspace-'));
    workspaces.push(workspace);
    mkdirSync(join(workspace, 'big'));
    const nodeClass = (n: number) =>
      [
        'apiVersion: karpenter.k8s.aws/v1',
        'kind: EC2NodeClass',
        'metadata:',
        `  name: ml-${n}`,
        'spec:',
        '  amiSelectorTerms:',
        '    - alias: bottlerocket@latest',
        '  role: KarpenterNodeRole-prod',
        '  subnetSelectorTerms: [{ tags: { karpenter.sh/discovery: prod } }]',
        '  securityGroupSelectorTerms: [{ tags: { karpenter.sh/discovery: prod } }]',
        '  blockDeviceMappings:',
        '    - deviceName: /dev/xvda',
        '      ebs: { volumeSize: 4Gi, volumeType: gp3 }',
        '    - deviceName: /dev/xvdb',
        '      ebs: { volumeSize: 80Gi, volumeType: gp3, snapshotID: snap-0123456789abcdef0 }',
      ].join('\n');
    // Ten files of 1,000 documents each (the most a file may hold).
    for (let f = 0; f < 10; f++) {
      const docs = Array.from({ length: 1000 }, (_, i) => nodeClass(f * 1000 + i));
      writeFileSync(join(workspace, 'big', `nodeclasses-${f}.yaml`), `${docs.join('\n---\n')}\n`);
    }
    const { main } = await runMainAndPost({
      ...options(workspace, { images: PAUSE, 'update-files': 'big/*.yaml' }),
      timeoutMs: 170_000,
    });
    expect(main.code).toBe(0);
    const updated = main.outputs['updated-files'] ?? '';
    expect(Buffer.byteLength(updated)).toBeLessThanOrEqual(1_000_000);
    const files = JSON.parse(updated) as Array<{ targets: unknown[] }>;
    expect(files.length).toBeGreaterThan(0);
    expect(Buffer.byteLength(main.summary)).toBeLessThanOrEqual(1_048_576);
    const cutOutput = main.stdout.includes("Output 'updated-files' lists");
    const cutSummary = main.summary.includes('of this summary are left out');
    // At this size something had to be left out, and the run says what.
    expect(cutOutput || cutSummary).toBe(true);
    if (files.length < 10) expect(cutOutput).toBe(true);
  }, 180_000);
});

describe('IAM', () => {
  it('every AWS call of these runs is allowed by the example policies (permissions, and trust for the web identity)', async () => {
    const decisions = await evaluateCalls(emu.calls, examplePolicies());
    saveEvaluation('action-update', emu.calls, decisions);
    expect(decisions.length).toBeGreaterThan(emu.calls.length / 2);
    expect(describeDenials(decisions)).toEqual([]);
  }, 60_000);
});
