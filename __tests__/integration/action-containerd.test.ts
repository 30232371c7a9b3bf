/**
 * The bundled action, run as the runner runs it, building on a real containerd: moto for EC2,
 * the SSM stand-in running the builder's script, whose `ctr` is the real one (Debian's
 * containerd, a daemon of the test's own) pulling real images from the real registry on
 * loopback. Then a node boots from the snapshot: a second containerd on a copy of the volume,
 * and what pods would find there.
 */
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  builderHostEnv,
  parseImageList,
  REAL_CTR_SHIM_DIR,
  startContainerd,
  type TestContainerd,
} from '../../test-support/containerd.js';
import { BUILD_INPUTS, startEmulator, type Emulator } from '../../test-support/emulator.js';
import { STUB_DIR } from '../../test-support/instance-sim.js';
import { startRegistryFront, type RegistryFront } from '../../test-support/registry-faults.js';
import { startRegistry, type PushedImage, type TestRegistry } from '../../test-support/registry.js';
import { unavailable } from '../../test-support/components.js';
import { describeWith, missing } from '../../test-support/requires.js';
import { REPO_ROOT, runMainAndPost } from '../../test-support/runner.js';

jest.setTimeout(120_000);

const why = missing(
  unavailable('containerd'),
  unavailable('docker-registry'),
  existsSync(join(REPO_ROOT, 'dist/index.js')) ? undefined : 'dist/index.js: run npm run build',
);

let dir: string;
let registry: TestRegistry;
let front: RegistryFront;
let builder: TestContainerd;
let emu: Emulator;
const pushed: Record<string, PushedImage> = {};
const ref = (name: string, host = registry.host) => `${host}/${name}`;
let run = 0;

async function action(inputs: Record<string, string>) {
  run++;
  return runMainAndPost({
    inputs: {
      ...BUILD_INPUTS,
      platforms: 'linux/amd64,linux/arm64',
      'checkpoint-snapshots': 'false',
      ...inputs,
    },
    env: { ...emu.env, GITHUB_RUN_ID: String(7000 + run) },
    timeoutMs: 100_000,
  });
}

describeWith(why)('the bundle on a real containerd', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bes-bundle-containerd-'));
    registry = await startRegistry();
    pushed.app = await registry.pushImage('team/app', 'v1', {
      platforms: ['linux/amd64', 'linux/arm64'],
      index: true,
      attestations: true,
    });
    pushed.tool = await registry.pushImage('team/tool', 'v1', {
      platforms: ['linux/amd64'],
      index: true,
    });
    pushed.flaky = await registry.pushImage('team/flaky', 'v1', {
      platforms: ['linux/amd64', 'linux/arm64'],
      index: true,
    });
    front = await startRegistryFront(registry.host, [
      { repository: 'team/flaky', status: 503, times: 2 },
    ]);
    builder = await startContainerd(
      join(dir, 'builder'),
      join(dir, 'host/local/var/lib/containerd'),
    );
    emu = await startEmulator([], {
      pathPrepend: [REAL_CTR_SHIM_DIR, STUB_DIR],
      env: builderHostEnv(builder, join(dir, 'host')),
    });
  }, 90_000);
  afterAll(async () => {
    await emu?.close();
    await builder?.stop();
    await front?.close();
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('builds a volume a node sees every image on, for every platform, unpacked, managed and pinned; a missing platform skipped with a warning', async () => {
    const images = [ref('team/app:v1'), ref('team/tool:v1')];
    const { main, post } = await action({
      images: images.join('\n'),
      'on-missing-platform': 'skip',
    });
    expect(main.code).toBe(0);
    expect(post.code).toBe(0);
    expect(main.outputs['snapshot-id']).toMatch(/^snap-/);
    expect(main.stdout).toMatch(
      new RegExp(`::warning::.*${ref('team/tool:v1').replace(/[./]/g, '.')}.*linux/arm64`),
    );

    // The node: a containerd on a copy of the data volume as the builder left it.
    await builder.stop();
    await cp(join(dir, 'host/local'), join(dir, 'node/local'), { recursive: true });
    const node = await startContainerd(
      join(dir, 'node-daemon'),
      join(dir, 'node/local/var/lib/containerd'),
    );
    try {
      const listed = parseImageList(await node.ctr(['images', 'ls']));
      expect(listed.map((l) => l.name).sort()).toEqual([...images].sort());
      for (const image of listed) {
        expect(image.labels).toMatchObject({
          'io.cri-containerd.image': 'managed',
          'io.cri-containerd.pinned': 'pinned',
        });
      }
      const chains = [
        pushed.app?.chainIds['linux/amd64'],
        pushed.app?.chainIds['linux/arm64'],
        pushed.tool?.chainIds['linux/amd64'],
      ];
      for (const chain of chains) {
        const info = JSON.parse(
          await node.ctr(['snapshots', '--snapshotter', 'overlayfs', 'info', chain ?? '-']),
        ) as { Kind?: string };
        expect(info.Kind).toBe('Committed');
      }
    } finally {
      await node.stop();
      builder = await startContainerd(
        join(dir, 'builder'),
        join(dir, 'host/local/var/lib/containerd'),
      );
    }
  });

  it('fails naming image and platform when a platform is missing', async () => {
    const { main } = await action({ images: ref('team/tool:v1') });
    expect(main.code).not.toBe(0);
    expect(main.stdout).toMatch(/::error::.*team\/tool:v1.*linux\/arm64/s);
    expect(main.outputs['snapshot-id'] ?? '').toBe('');
  });

  it('rides out a registry answering 503, and fails at once on an image it does not have', async () => {
    const flaky = await action({ images: ref('team/flaky:v1', front.host) });
    expect(front.failed['team/flaky']).toBeGreaterThanOrEqual(2);
    expect(flaky.main.code).toBe(0);
    const started = Date.now();
    const absent = await action({ images: ref('team/absent:v1'), 'on-missing-platform': 'skip' });
    expect(absent.main.code).not.toBe(0);
    expect(absent.main.stdout).toMatch(/team\/absent:v1/);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
