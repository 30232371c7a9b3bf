/**
 * The builder's script against the real tools that can run here: a containerd daemon of the
 * test's own (Debian's containerd, the real ctr, root and socket in a temp dir) pulling real
 * multi-platform images with real tar layers from the real CNCF registry on loopback. Only what
 * this machine cannot be is a shim: apiclient (one stream, stdin forwarded, the host's /local)
 * and a ctr wrapper for the socket path, Debian's 1.6 having no --local, and plain HTTP.
 *
 * Then the node's view: a second containerd started on a copy of the first one's root, as a
 * node boots from the snapshot, and what pods would find there.
 */
import { afterEach, beforeAll, afterAll, expect, it, jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseImageReference } from '../../src/config/image-ref.js';
import type { Platform } from '../../src/config/types.js';
import {
  parseScriptReport,
  renderInstanceScript,
  type ScriptPlan,
} from '../../src/build/instance-script.js';
import {
  builderHostEnv,
  parseImageList,
  REAL_CTR_SHIM_DIR,
  startContainerd,
  type TestContainerd,
} from '../../test-support/containerd.js';
import { runScript, simulatedInstance, STUB_DIR } from '../../test-support/instance-sim.js';
import { startRegistryFront, type RegistryFront } from '../../test-support/registry-faults.js';
import { startRegistry, type PushedImage, type TestRegistry } from '../../test-support/registry.js';
import { unavailable } from '../../test-support/components.js';
import { describeWith, missing } from '../../test-support/requires.js';

jest.setTimeout(90_000);

const BOTH: Platform[] = ['linux/amd64', 'linux/arm64'];
const MANAGED = 'io.cri-containerd.image';
const PINNED = 'io.cri-containerd.pinned';
const why = missing(unavailable('containerd'), unavailable('docker-registry'));

let registry: TestRegistry;
let front: RegistryFront;
const pushed: Record<string, PushedImage> = {};
const ref = (name: string, host = registry.host) => `${host}/${name}`;

/** A builder: its data volume (/local) in a temp dir, containerd's root on it, a daemon. */
interface Builder {
  dir: string;
  hostRoot: string;
  containerd: TestContainerd;
}
let builders: Builder[] = [];

async function builder(): Promise<Builder> {
  const dir = await mkdtemp(join(tmpdir(), 'bes-builder-'));
  const hostRoot = join(dir, 'host');
  const containerd = await startContainerd(
    join(dir, 'daemon'),
    join(hostRoot, 'local/var/lib/containerd'),
  );
  const made = { dir, hostRoot, containerd };
  builders.push(made);
  return made;
}

/** Puts on the builder's /local what a Bottlerocket builder has there besides images. */
async function seedIdentity(b: Builder) {
  const local = (path: string) => join(b.hostRoot, 'local', path);
  const files = {
    sshKey: local('host-containers/admin/etc/ssh/ssh_host_ed25519_key'),
    userData: local('host-containers/admin/user-data'),
    journal: local('var/log/journal/0123456789abcdef/system.journal'),
    duid: local('var/lib/wicked/duid.xml'),
    ssmKey: local('host-containers/control/ssm/Vault/Store/EC2RegistrationKey'),
  };
  for (const file of Object.values(files)) {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, 'THIS BUILDER ONLY');
  }
  return {
    ssmKey: files.ssmKey,
    removed: [files.sshKey, files.userData, dirname(files.journal), files.duid],
    // The wicked directory stays (its contents go); the agent's state waits for shutdown.
    kept: [dirname(files.duid), files.ssmKey, local('var/lib/containerd')],
  };
}

/** Where the scripts of this file keep their whole report (removed after the tests). */
const REPORTS = join(tmpdir(), `bes-reports-${process.pid}`);
afterAll(() => rmSync(REPORTS, { recursive: true, force: true }));

function plan(images: string[], overrides: Partial<ScriptPlan> = {}): ScriptPlan {
  return {
    images: images.map(parseImageReference),
    platforms: BOTH,
    snapshotter: 'overlayfs',
    onMissingPlatform: 'fail',
    concurrency: 3,
    quiesce: false,
    prune: false,
    retryDelaySeconds: 0,
    reportFile: join(REPORTS, randomUUID(), 'pull.report'),
    adminWaitSeconds: 5,
    ...overrides,
  };
}

async function build(b: Builder, p: ScriptPlan) {
  const instance = simulatedInstance([], {
    PATH: `${REAL_CTR_SHIM_DIR}:${STUB_DIR}:${process.env.PATH ?? ''}`,
    ...builderHostEnv(b.containerd, b.hostRoot),
  });
  try {
    const result = await runScript(renderInstanceScript(p), instance, 80_000);
    const ctrCalls = instance.has('ctr-real.log') ? instance.read('ctr-real.log') : '';
    const hostCommands = instance.has('host-commands.log')
      ? instance.read('host-commands.log')
      : '';
    return {
      ...result,
      report: parseScriptReport(result.stdout, p.images),
      ctrCalls,
      hostCommands,
    };
  } finally {
    instance.cleanup();
  }
}

async function images(c: TestContainerd) {
  return parseImageList(await c.ctr(['images', 'ls']));
}

/** Whether the snapshotter holds a committed snapshot under this chain ID (a platform unpacked). */
async function unpacked(c: TestContainerd, chainId: string): Promise<boolean> {
  try {
    const info = JSON.parse(
      await c.ctr(['snapshots', '--snapshotter', 'overlayfs', 'info', chainId]),
    ) as { Kind?: string };
    return info.Kind === 'Committed';
  } catch {
    return false;
  }
}

const suite = describeWith(why);

suite('the instance script on a real containerd', () => {
  beforeAll(async () => {
    registry = await startRegistry();
    pushed.multi = await registry.pushImage('team/multi', 'v1', {
      platforms: BOTH,
      index: true,
      attestations: true,
    });
    pushed.list = await registry.pushImage('team/list', 'v1', {
      platforms: BOTH,
      index: true,
      format: 'docker',
    });
    pushed.single = await registry.pushImage('team/single', 'v1', {
      platforms: ['linux/amd64'],
      index: false,
    });
    pushed.flaky = await registry.pushImage('team/flaky', 'v1', { platforms: BOTH, index: true });
    pushed.cached = await registry.pushImage('ghcr/org/tool', 'v2', {
      platforms: BOTH,
      index: true,
    });
    pushed.old = await registry.pushImage('team/old', 'v1', { platforms: BOTH, index: true });
    front = await startRegistryFront(registry.host, [
      { repository: 'team/flaky', status: 503, times: 2 },
    ]);
  }, 60_000);
  afterAll(async () => {
    await front?.close();
    await registry?.stop();
  });
  afterEach(async () => {
    for (const b of builders) {
      await b.containerd.stop();
      await rm(b.dir, { recursive: true, force: true });
    }
    builders = [];
  });

  it('pulls multi-platform and single-platform images, unpacked for every platform, labelled, and a node booting from a copy sees them', async () => {
    const b = await builder();
    const identity = await seedIdentity(b);
    const names = [ref('team/multi:v1'), ref('team/list:v1'), ref('team/single:v1')];
    const run = await build(b, plan(names, { onMissingPlatform: 'skip' }));

    expect(run.code).toBe(0);
    const byImage = (i: number) => run.report.pulls.filter((p) => p.image.original === names[i]);
    for (const i of [0, 1]) {
      expect(byImage(i).map((p) => [p.platform, p.status])).toEqual([
        ['linux/amd64', 'ok'],
        ['linux/arm64', 'ok'],
      ]);
    }
    // The single-platform image is "pulled" for arm64 with exit 0 by ctr: the script says skip.
    expect(byImage(2).map((p) => [p.platform, p.status])).toEqual([
      ['linux/amd64', 'ok'],
      ['linux/arm64', 'skip'],
    ]);
    expect(byImage(2)[1]?.message).toMatch(/no match for platform.*linux\/arm64/);
    // The reported digest is the registry's.
    expect(byImage(0)[0]?.digest).toBe(pushed.multi?.digest);
    expect(byImage(1)[1]?.digest).toBe(pushed.list?.digest);
    expect(byImage(2)[0]?.digest).toBe(pushed.single?.digest);
    expect(byImage(0)[0]?.sizeBytes).toBeGreaterThan(0);
    // Every pull on the client-side path, every flag before the reference.
    for (const line of run.ctrCalls.split('\n').filter((l) => l.includes(' pull '))) {
      expect(line).toMatch(
        /pull --plain-http --platform \S+ --snapshotter overlayfs --label \S+ --label \S+ \S+$/,
      );
    }
    expect(run.hostCommands).toMatch(/ctr .* images pull --local --platform/);
    // What was this builder's is not on the volume; what nodes expect to find stays.
    for (const file of identity.removed) expect(existsSync(file)).toBe(false);
    for (const file of identity.kept) expect(existsSync(file)).toBe(true);
    expect(run.hostCommands).toContain('journalctl --relinquish-var');
    // The SSM agent's state goes at shutdown, once the agent has stopped.
    expect(run.hostCommands).toMatch(
      /systemd-run .*--property=Before=host-containers@control.service .*ExecStop=\/usr\/bin\/rm -rf -- \/local\/host-containers\/control\/ssm/,
    );

    // The node: the snapshot is the data volume as it was when the builder stopped.
    await b.containerd.stop();
    const nodeDir = join(b.dir, 'node');
    await cp(join(b.hostRoot, 'local'), join(nodeDir, 'local'), { recursive: true });
    const node = await startContainerd(
      join(nodeDir, 'daemon'),
      join(nodeDir, 'local/var/lib/containerd'),
    );
    builders.push({ dir: nodeDir, hostRoot: nodeDir, containerd: node });
    const listed = await images(node);
    expect(listed.map((l) => l.name).sort()).toEqual([...names].sort());
    for (const image of listed) {
      expect(image.labels).toMatchObject({ [MANAGED]: 'managed', [PINNED]: 'pinned' });
    }
    for (const key of ['multi', 'list'] as const) {
      for (const platform of BOTH) {
        expect(await unpacked(node, pushed[key]?.chainIds[platform] ?? '-')).toBe(true);
      }
    }
    expect(await unpacked(node, pushed.single?.chainIds['linux/amd64'] ?? '-')).toBe(true);
  });

  it('fails on a platform the image lacks, naming image and platform, and pulls the rest', async () => {
    const b = await builder();
    const names = [ref('team/single:v1'), ref('team/multi:v1')];
    const run = await build(b, plan(names));
    expect(run.code).toBe(1);
    const failed = run.report.pulls.filter((p) => p.status === 'fail');
    expect(failed.map((p) => [p.image.original, p.platform])).toEqual([[names[0], 'linux/arm64']]);
    expect(failed[0]?.message).toMatch(/no match for platform/);
    expect(run.report.pulls.filter((p) => p.status === 'ok')).toHaveLength(3);
    expect(run.hostCommands).not.toContain('rm -rf');
  });

  it('fails on a platform missing from an index, from ctr itself, or skips it when asked', async () => {
    const b = await builder();
    const arm = await registry.pushImage('team/armonly', 'v1', {
      platforms: ['linux/arm64'],
      index: true,
    });
    const name = ref('team/armonly:v1');
    const failing = await build(b, plan([name]));
    expect(failing.code).toBe(1);
    expect(failing.report.pulls.map((p) => [p.platform, p.status])).toEqual([
      ['linux/amd64', 'fail'],
      ['linux/arm64', 'ok'],
    ]);
    expect(failing.report.pulls[0]?.message).toMatch(/no match for platform in manifest/);
    const skipping = await build(b, plan([name], { onMissingPlatform: 'skip' }));
    expect(skipping.code).toBe(0);
    expect(skipping.report.pulls.map((p) => p.status)).toEqual(['skip', 'ok']);
    expect(skipping.report.pulls[1]?.digest).toBe(arm.digest);
  });

  it('tries a registry answering 503 again and succeeds', async () => {
    const b = await builder();
    const name = ref('team/flaky:v1', front.host);
    const run = await build(b, plan([name], { platforms: ['linux/amd64'] }));
    expect(front.failed['team/flaky']).toBe(2);
    expect(run.code).toBe(0);
    expect(run.report.pulls[0]).toMatchObject({ status: 'ok', digest: pushed.flaky?.digest });
  });

  it('fails at once on an image the registry does not have, naming it', async () => {
    const b = await builder();
    const name = ref('team/absent:v9');
    const run = await build(b, plan([name], { platforms: ['linux/amd64'], retryDelaySeconds: 30 }));
    expect(run.code).toBe(1);
    expect(run.ms).toBeLessThan(20_000);
    expect(run.report.pulls[0]).toMatchObject({ status: 'fail' });
    expect(run.report.pulls[0]?.message).toMatch(/not found/);
    expect(run.report.pulls[0]?.message).toContain('team/absent');
    expect(run.ctrCalls.split('\n').filter((l) => l.includes(' pull '))).toHaveLength(1);
  });

  it('names an image pulled through a pull-through cache as pods refer to it, labels kept', async () => {
    const b = await builder();
    const own = 'ghcr.io/org/tool:v2';
    const p = plan([own], { sources: [parseImageReference(ref('ghcr/org/tool:v2'))] });
    const run = await build(b, p);
    expect(run.code).toBe(0);
    expect(run.report.pulls.map((r) => [r.status, r.digest])).toEqual([
      ['ok', pushed.cached?.digest],
      ['ok', pushed.cached?.digest],
    ]);
    const listed = await images(b.containerd);
    expect(listed.map((l) => l.name)).toEqual([own]);
    expect(listed[0]?.labels).toMatchObject({ [MANAGED]: 'managed', [PINNED]: 'pinned' });
  });

  it('stores repo:tag@digest under repo@digest, the name the kubelet looks up (live snapshot)', async () => {
    const b = await builder();
    const identity = await seedIdentity(b);
    const digest = pushed.multi?.digest ?? '';
    const p = plan([`${ref('team/multi:v1')}@${digest}`], {
      platforms: ['linux/amd64'],
      quiesce: true,
    });
    const run = await build(b, p);
    expect(run.code).toBe(0);
    // Snapshotted running: the agent's registration key goes now, the rest of its state cannot.
    expect(existsSync(identity.ssmKey)).toBe(false);
    expect(run.hostCommands).not.toContain('systemd-run');
    expect(run.hostCommands).toContain('systemctl stop containerd');
    const listed = await images(b.containerd);
    expect(listed.map((l) => l.name)).toEqual([`${ref('team/multi')}@${digest}`]);
    expect(listed[0]?.digest).toBe(digest);
  });

  it("prunes an earlier volume's images no longer listed, keeping Bottlerocket's own and CRI's ID references", async () => {
    const b = await builder();
    await build(
      b,
      plan([ref('team/old:v1'), ref('team/multi:v1')], { platforms: ['linux/amd64'] }),
    );
    const pause = 'localhost/kubernetes/pause:0.1.0';
    const id = `sha256:${'c'.repeat(64)}`;
    await b.containerd.ctr(['images', 'tag', ref('team/multi:v1'), pause]);
    await b.containerd.ctr(['images', 'tag', ref('team/multi:v1'), id]);
    const run = await build(
      b,
      plan([ref('team/multi:v1'), ref('team/list:v1')], {
        platforms: ['linux/amd64'],
        prune: true,
      }),
    );
    expect(run.code).toBe(0);
    expect(run.report.removed).toEqual([ref('team/old:v1')]);
    const names = (await images(b.containerd)).map((l) => l.name).sort();
    expect(names).toEqual([id, pause, ref('team/list:v1'), ref('team/multi:v1')].sort());
    const multi = run.report.pulls.find((p) => p.image.original === ref('team/multi:v1'));
    expect(multi?.reused).toBe(true);
    const removedChain = pushed.old?.chainIds['linux/amd64'] ?? '-';
    expect(await unpacked(b.containerd, removedChain)).toBe(false);
  });
});
