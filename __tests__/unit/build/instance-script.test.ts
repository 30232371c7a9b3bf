import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseImageReference } from '../../../src/config/image-ref.js';
import {
  needsEcrAuth,
  parseScriptReport,
  parseSize,
  renderInstanceScript,
  shellQuote,
  storageName,
  type ScriptPlan,
} from '../../../src/build/instance-script.js';
import type { Platform } from '../../../src/config/types.js';
import {
  runScript,
  seedImage,
  simulatedInstance,
  type SimulatedInstance,
  type StubImage,
} from '../../../test-support/instance-sim.js';
import { describeWith } from '../../../test-support/requires.js';

const PAUSE = 'public.ecr.aws/eks-distro/kubernetes/pause:3.2';
const JUPYTER =
  'public.ecr.aws/kubeflow-on-aws/notebook-servers/jupyter-pytorch:1.12.1-cpu-py38-ubuntu20.04-ec2-v1.2';
const PRIVATE = '123456789012.dkr.ecr.us-west-2.amazonaws.com/app:v1';

/** Where the scripts of this file keep their whole report (removed after the tests). */
const REPORTS = join(tmpdir(), `bes-reports-${process.pid}`);
afterAll(() => rmSync(REPORTS, { recursive: true, force: true }));

function plan(refs: string[], overrides: Partial<ScriptPlan> = {}): ScriptPlan {
  return {
    images: refs.map(parseImageReference),
    platforms: ['linux/amd64'] as Platform[],
    snapshotter: 'overlayfs',
    onMissingPlatform: 'fail',
    concurrency: 4,
    quiesce: false,
    prune: false,
    retryDelaySeconds: 0,
    reportFile: join(REPORTS, randomUUID(), 'pull.report'),
    ...overrides,
  };
}

let instance: SimulatedInstance | undefined;
afterEach(() => {
  instance?.cleanup();
  instance = undefined;
});

/** The containerd version the ctr stand-in plays (set by each describe.each below). */
let ctrVersion = '2.1';

async function run(p: ScriptPlan, images: StubImage[], env: Record<string, string> = {}) {
  instance = simulatedInstance(images, { STUB_CTR_VERSION: ctrVersion, ...env });
  const result = await runScript(renderInstanceScript(p), instance);
  return { ...result, report: parseScriptReport(result.stdout, p.images), instance };
}

describe('shellQuote', () => {
  it.each(['plain', "it's", '$(id)', '`id`', 'a b\nc', "'; rm -rf / #", '"double"', '\\', ''])(
    'round-trips %j through sh unchanged',
    (value) => {
      const out = execFileSync('sh', ['-c', `printf '%s' ${shellQuote(value)}`]).toString();
      expect(out).toBe(value);
    },
  );
});

describe.each(['1.7', '2.1'])('instance script (containerd %s)', (version) => {
  beforeEach(() => {
    ctrVersion = version;
  });

  it('pulls every image for every platform with flags before the reference, labelled managed and pinned', async () => {
    const p = plan([PAUSE, JUPYTER], { platforms: ['linux/amd64', 'linux/arm64'] });
    const r = await run(p, [
      {
        ref: PAUSE,
        platforms: ['linux/amd64', 'linux/arm64'],
        digest: `sha256:${'1'.repeat(64)}`,
        size: '301.6 KiB',
      },
      {
        ref: JUPYTER,
        platforms: ['linux/amd64', 'linux/arm64'],
        digest: `sha256:${'2'.repeat(64)}`,
        size: '4.6 GiB',
      },
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.report.complete).toBe(true);
    expect(r.report.totals).toEqual({ pulled: 4, skipped: 0, failed: 0 });
    expect(
      r.report.pulls.map((x) => [x.image.normalized, x.platform, x.status, x.digest, x.size]),
    ).toEqual([
      [PAUSE, 'linux/amd64', 'ok', `sha256:${'1'.repeat(64)}`, '301.6 KiB'],
      [PAUSE, 'linux/arm64', 'ok', `sha256:${'1'.repeat(64)}`, '301.6 KiB'],
      [JUPYTER, 'linux/amd64', 'ok', `sha256:${'2'.repeat(64)}`, '4.6 GiB'],
      [JUPYTER, 'linux/arm64', 'ok', `sha256:${'2'.repeat(64)}`, '4.6 GiB'],
    ]);
    expect(r.report.pulls[3]?.sizeBytes).toBe(Math.round(4.6 * 1024 ** 3));
    const record = r.instance.read('images/public.ecr.aws_eks-distro_kubernetes_pause_3.2');
    expect(record).toContain('label=io.cri-containerd.image=managed');
    expect(record).toContain('label=io.cri-containerd.pinned=pinned');
    expect(record).toContain('snapshotter=overlayfs');
    expect(r.instance.read('systemctl.log')).toBe('stop kubelet\n');
    // kubelet is stopped before the first pull
    const host = r.instance.read('host-commands.log').split('\n');
    expect(host.slice(0, 2)).toEqual(['true', 'systemctl stop kubelet']);
    expect(host.filter((l) => l.includes('images pull --local'))).toHaveLength(4);
    // Every flag came before the reference (none were left unparsed).
    expect(r.instance.has('ignored-args.log')).toBe(false);
    // Every platform is unpacked, the builder's and the other one (on 2.1 only --local does that).
    expect(record).toMatch(/^unpacked=.*linux\/amd64.*linux\/arm64/m);
  });

  it('uses the chosen snapshotter', async () => {
    const r = await run(plan([PAUSE], { snapshotter: 'soci' }), [
      { ref: PAUSE, platforms: ['linux/amd64'] },
    ]);
    expect(r.code).toBe(0);
    expect(r.instance.read('pulls.log')).toContain('\tsoci\t');
  });

  it('runs pulls in parallel up to the bound, never beyond it', async () => {
    const refs = Array.from({ length: 6 }, (_, i) => `registry.example.com/team/image-${i}:1`);
    const p = plan(refs, { concurrency: 3 });
    const r = await run(
      p,
      refs.map((ref) => ({ ref, platforms: ['linux/amd64'], delaySeconds: 0.4 })),
    );
    expect(r.code).toBe(0);
    expect(Number(r.instance.read('max-concurrency'))).toBe(3);
  });

  it('pulls one at a time with concurrency 1', async () => {
    const refs = [PAUSE, JUPYTER];
    const r = await run(
      plan(refs, { concurrency: 1 }),
      refs.map((ref) => ({ ref, platforms: ['linux/amd64'], delaySeconds: 0.2 })),
    );
    expect(r.code).toBe(0);
    expect(Number(r.instance.read('max-concurrency'))).toBe(1);
  });

  it('exits non-zero naming each failed image with the registry message, and still pulls the rest', async () => {
    const missing = 'docker.io/library/does-not-exist:1';
    const broken = 'ghcr.io/acme/broken:2';
    const r = await run(plan([PAUSE, missing, broken]), [
      { ref: PAUSE, platforms: ['linux/amd64'] },
      {
        ref: broken,
        platforms: ['linux/amd64'],
        error:
          'failed to copy: httpReadSeeker: failed open: unexpected status code 500 Internal Server Error',
      },
    ]);
    expect(r.code).toBe(1);
    expect(r.report.totals).toEqual({ pulled: 1, skipped: 0, failed: 2 });
    const failed = r.report.pulls.filter((x) => x.status === 'fail');
    expect(failed.map((f) => f.image.normalized)).toEqual([missing, broken]);
    expect(failed[0]?.message).toContain('not found');
    expect(failed[1]?.message).toContain('500 Internal Server Error');
    expect(r.report.pulls.find((x) => x.image.normalized === PAUSE)?.status).toBe('ok');
  });

  it('gives up after three tries of a transient failure, with the registry message', async () => {
    const r = await run(plan([PAUSE]), [
      {
        ref: PAUSE,
        platforms: ['linux/amd64'],
        error: 'transient:9:read tcp 10.0.0.1:443: i/o timeout',
      },
    ]);
    expect(r.code).toBe(1);
    expect(r.instance.read('attempts-public.ecr.aws_eks-distro_kubernetes_pause_3.2').trim()).toBe(
      '3',
    );
    expect(r.report.pulls[0]?.message).toContain('i/o timeout');
  });

  it('never tries again when the image or platform does not exist or access is denied', async () => {
    const r = await run(plan([PAUSE, 'docker.io/acme/gone:1']), [
      {
        ref: PAUSE,
        platforms: ['linux/amd64'],
        error:
          'transient:9:pull access denied, repository does not exist or may require authorization: 503',
      },
    ]);
    expect(r.code).toBe(1);
    expect(r.instance.read('attempts-public.ecr.aws_eks-distro_kubernetes_pause_3.2').trim()).toBe(
      '1',
    );
    expect(
      r.instance
        .read('host-commands.log')
        .split('\n')
        .filter((l) => l.includes('images pull') && l.includes('docker.io/acme/gone:1')),
    ).toHaveLength(1);
  });

  it('authenticates private ECR pulls with a token minted on the instance, never one in the script', async () => {
    const p = plan([PRIVATE, PAUSE]);
    expect(needsEcrAuth(p.images[0]!)).toBe(true);
    expect(needsEcrAuth(p.images[1]!)).toBe(false);
    const script = renderInstanceScript(p);
    expect(script).not.toMatch(/--user AWS:[^"$]/);
    const r = await run(p, [
      { ref: PRIVATE, platforms: ['linux/amd64'], auth: 'ecr' },
      { ref: PAUSE, platforms: ['linux/amd64'] },
    ]);
    expect(r.code).toBe(0);
    const pulls = r.instance.read('pulls.log');
    expect(pulls).toContain(
      `${PRIVATE}\tlinux/amd64\toverlayfs\tAWS:instance-token-for-123456789012.dkr.ecr.us-west-2.amazonaws.com`,
    );
    expect(pulls).toContain(`${PAUSE}\tlinux/amd64\toverlayfs\t\tlocal=1\n`);
    // the token is not echoed into the report
    expect(r.stdout).not.toContain('instance-token-for');
  });

  describe('through an ECR pull-through cache', () => {
    const GHCR = 'ghcr.io/acme/trainer:v7';
    const CACHED = '123456789012.dkr.ecr.us-west-2.amazonaws.com/ghcr/acme/trainer:v7';
    const throughCache = (extra: Partial<ScriptPlan> = {}) =>
      plan([GHCR, PAUSE], {
        sources: [parseImageReference(CACHED), parseImageReference(PAUSE)],
        platforms: ['linux/amd64', 'linux/arm64'],
        ...extra,
      });
    const registry: StubImage[] = [
      {
        ref: CACHED,
        platforms: ['linux/amd64', 'linux/arm64'],
        auth: 'ecr',
        digest: `sha256:${'7'.repeat(64)}`,
      },
      { ref: PAUSE, platforms: ['linux/amd64', 'linux/arm64'] },
    ];

    it('pulls from the cache with an instance-minted ECR token, names the image as pods do, and drops the cache name', async () => {
      const r = await run(throughCache(), registry);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const pulls = r.instance.read('pulls.log');
      expect(pulls).toContain(
        `${CACHED}\tlinux/arm64\toverlayfs\tAWS:instance-token-for-123456789012.dkr.ecr.us-west-2.amazonaws.com`,
      );
      expect(pulls).not.toContain('ghcr.io/');
      expect(r.instance.read('tags.log')).toBe(`${CACHED}\t${GHCR}\tlocal=1\n`);
      // On the volume under its own name only, still labelled for the kubelet.
      const image = r.instance.read('images/ghcr.io_acme_trainer_v7');
      expect(image).toContain(`ref=${GHCR}`);
      expect(image).toContain('label=io.cri-containerd.image=managed');
      expect(image).toContain('label=io.cri-containerd.pinned=pinned');
      expect(
        r.instance.has('images/123456789012.dkr.ecr.us-west-2.amazonaws.com_ghcr_acme_trainer_v7'),
      ).toBe(false);
      expect(
        r.report.pulls.map((x) => [x.image.normalized, x.platform, x.status, x.digest]),
      ).toEqual([
        [GHCR, 'linux/amd64', 'ok', `sha256:${'7'.repeat(64)}`],
        [GHCR, 'linux/arm64', 'ok', `sha256:${'7'.repeat(64)}`],
        [PAUSE, 'linux/amd64', 'ok', expect.any(String)],
        [PAUSE, 'linux/arm64', 'ok', expect.any(String)],
      ]);
    });

    it('fails the image, saying so, when it cannot be named', async () => {
      const r = await run(throughCache({ platforms: ['linux/amd64'] }), registry, {
        STUB_TAG_FAIL: '1',
      });
      expect(r.code).toBe(1);
      expect(r.report.pulls[0]?.status).toBe('fail');
      expect(r.report.pulls[0]?.message).toContain(
        `pulled as ${CACHED}, but naming it ${GHCR} failed: ctr: failed to create image`,
      );
      expect(r.report.pulls[1]?.status).toBe('ok');
    });
  });

  it('reports an ECR token failure per platform without pulling', async () => {
    const r = await run(
      plan([PRIVATE]),
      [{ ref: PRIVATE, platforms: ['linux/amd64'], auth: 'ecr' }],
      {
        STUB_ECR_FAIL: 'NoCredentialProviders: no valid providers in chain',
      },
    );
    expect(r.code).toBe(1);
    expect(r.report.pulls[0]?.message).toContain('could not get an ECR token on the instance');
    expect(r.report.pulls[0]?.message).toContain('NoCredentialProviders');
  });

  it('stops with a clear phase failure when kubelet cannot be stopped', async () => {
    const r = await run(plan([PAUSE]), [{ ref: PAUSE, platforms: ['linux/amd64'] }], {
      STUB_SYSTEMCTL_FAIL: 'Unit kubelet.service is masked.',
    });
    expect(r.code).toBe(91);
    expect(r.report.phaseFailure).toEqual({
      phase: 'prepare',
      message: expect.stringContaining('masked'),
    });
    expect(r.instance.has('pulls.log')).toBe(false);
  });

  it('waits for the admin container when SSM answers first', async () => {
    const r = await run(plan([PAUSE]), [{ ref: PAUSE, platforms: ['linux/amd64'] }], {
      STUB_ADMIN_NOT_READY: '1',
    });
    expect(r.code).toBe(0);
    expect(r.instance.read('admin-calls').trim()).not.toBe('1');
    expect(r.report.totals).toEqual({ pulled: 1, skipped: 0, failed: 0 });
  }, 30_000);

  it('gives up on an admin container that never starts, within its bound, saying so', async () => {
    const r = await run(
      plan([PAUSE], { adminWaitSeconds: 1 }),
      [{ ref: PAUSE, platforms: ['linux/amd64'] }],
      {
        STUB_ADMIN_NOT_READY: 'never',
      },
    );
    expect(r.code).toBe(94);
    expect(r.report.phaseFailure?.phase).toBe('admin');
    expect(r.report.phaseFailure?.message).toContain('container admin is not running');
    expect(r.ms).toBeLessThan(10_000);
    expect(r.instance.has('pulls.log')).toBe(false);
  }, 30_000);

  it('stops containerd and flushes after the pulls when quiescing for a live snapshot', async () => {
    const r = await run(plan([PAUSE], { quiesce: true }), [
      { ref: PAUSE, platforms: ['linux/amd64'] },
    ]);
    expect(r.code).toBe(0);
    expect(r.instance.read('systemctl.log')).toBe('stop kubelet\nstop containerd\n');
    expect(r.instance.read('host-commands.log')).toMatch(/sync\n$/);
  });

  it('keeps the report of 20 images x 2 platforms with failures well inside SSM output limits', async () => {
    const refs = Array.from(
      { length: 20 },
      (_, i) =>
        `123456789012.dkr.ecr.eu-central-1.amazonaws.com/ml/model-server-${i}:2026.11.29-build.${i}`,
    );
    const p = plan(refs, { platforms: ['linux/amd64', 'linux/arm64'], concurrency: 8 });
    const r = await run(
      p,
      refs.map((ref, i) => ({
        ref,
        platforms: ['linux/amd64', 'linux/arm64'],
        auth: 'ecr' as const,
        error: i % 2 ? 'x'.repeat(2000) : '',
      })),
    );
    expect(r.report.pulls).toHaveLength(40);
    expect(r.report.complete).toBe(true);
    expect(r.stdout.length).toBeLessThan(24000);
    expect(Math.max(...r.report.pulls.map((x) => x.message?.length ?? 0))).toBeLessThanOrEqual(300);
  }, 60_000);
});

describe('what containerd 2.1 does differently (ctr stand-in, 2.1 mode)', () => {
  beforeEach(() => {
    ctrVersion = '2.1';
  });
  const BOTH: Platform[] = ['linux/amd64', 'linux/arm64'];
  const withoutLocal = (script: string) => script.replace(/ --local\b/g, '');

  it("unpacks the platform that is not the builder's only because the pull says --local", async () => {
    const p = plan([PAUSE], { platforms: BOTH });
    const image: StubImage = { ref: PAUSE, platforms: BOTH };
    const r = await run(p, [image]);
    expect(r.code).toBe(0);
    expect(r.instance.read('images/public.ecr.aws_eks-distro_kubernetes_pause_3.2')).toMatch(
      /^unpacked=,linux\/amd64,linux\/arm64$/m,
    );
    // The same pulls through the transfer service leave arm64 packed: nodes would unpack it.
    const inst = simulatedInstance([image], { STUB_CTR_VERSION: '2.1' });
    try {
      const without = await runScript(withoutLocal(renderInstanceScript(p)), inst);
      expect(without.code).toBe(0);
      expect(inst.read('images/public.ecr.aws_eks-distro_kubernetes_pause_3.2')).toMatch(
        /^unpacked=,linux\/amd64$/m,
      );
    } finally {
      inst.cleanup();
    }
  });

  it('never reports ok for a platform an index lacks, even where ctr exits 0 (transfer service)', async () => {
    const p = plan([PAUSE], { platforms: BOTH });
    const inst = simulatedInstance([{ ref: PAUSE, platforms: ['linux/amd64'] }], {
      STUB_CTR_VERSION: '2.1',
    });
    try {
      const r = await runScript(withoutLocal(renderInstanceScript(p)), inst);
      const report = parseScriptReport(r.stdout, p.images);
      expect(report.pulls.map((x) => [x.platform, x.status])).toEqual([
        ['linux/amd64', 'ok'],
        ['linux/arm64', 'fail'],
      ]);
      expect(report.pulls[1]?.message).toContain('no match for platform');
    } finally {
      inst.cleanup();
    }
  });

  it('fails, or skips, a platform a single-manifest image is not for, which ctr accepts', async () => {
    const images: StubImage[] = [{ ref: PAUSE, platforms: ['linux/amd64'], media: 'manifest' }];
    const failing = await run(plan([PAUSE], { platforms: BOTH }), images);
    expect(failing.code).toBe(1);
    expect(failing.report.pulls.map((x) => x.status)).toEqual(['ok', 'fail']);
    expect(failing.report.pulls[1]?.message).toContain(
      'the image is for linux/amd64, not linux/arm64',
    );
    const skipping = await run(
      plan([PAUSE], { platforms: BOTH, onMissingPlatform: 'skip' }),
      images,
    );
    expect(skipping.code).toBe(0);
    expect(skipping.report.pulls.map((x) => x.status)).toEqual(['ok', 'skip']);
  });

  it('keeps managed and pinned on an image named through the transfer service, which drops labels', async () => {
    const CACHED = '123456789012.dkr.ecr.us-west-2.amazonaws.com/ghcr/acme/trainer:v7';
    const GHCR = 'ghcr.io/acme/trainer:v7';
    const p = plan([GHCR], { sources: [parseImageReference(CACHED)] });
    const inst = simulatedInstance([{ ref: CACHED, platforms: ['linux/amd64'], auth: 'ecr' }], {
      STUB_CTR_VERSION: '2.1',
    });
    try {
      // Even with the tag's --local taken away, the labels are put back.
      const script = renderInstanceScript(p).replace('images tag --local', 'images tag');
      const r = await runScript(script, inst);
      expect(r.code).toBe(0);
      expect(inst.read('tags.log')).toContain('local=0');
      const image = inst.read('images/ghcr.io_acme_trainer_v7');
      expect(image).toContain('label=io.cri-containerd.image=managed');
      expect(image).toContain('label=io.cri-containerd.pinned=pinned');
    } finally {
      inst.cleanup();
    }
  });

  it("reads the digest by the image's name when ctr logs a size error above the table", async () => {
    // Only arm64 on an amd64 builder: images ls cannot size the host platform, and says so first.
    const digest = `sha256:${'9'.repeat(64)}`;
    const r = await run(plan([PAUSE], { platforms: ['linux/arm64'] }), [
      { ref: PAUSE, platforms: BOTH, digest },
    ]);
    expect(r.code).toBe(0);
    expect(r.report.pulls[0]).toMatchObject({ status: 'ok', digest, size: '0.0 B' });
  });

  it('keeps the reason of a failure after megabytes of progress, and its own output small', async () => {
    const r = await run(
      plan([PAUSE]),
      [
        {
          ref: PAUSE,
          platforms: ['linux/amd64'],
          error: 'failed to copy: unexpected EOF in layer 7',
        },
      ],
      { STUB_PROGRESS_TABLES: '20000' },
    );
    expect(r.code).toBe(1);
    expect(r.report.pulls[0]?.message).toBe('ctr: failed to copy: unexpected EOF in layer 7');
    expect(r.stdout.length).toBeLessThan(2000);
  }, 60_000);
});

describe('the report, at any size', () => {
  it('names failures first, after the counts, and keeps the whole report on the builder when it is long', async () => {
    // Half the images are missing; their long names make long failure messages.
    const refs = Array.from(
      { length: 60 },
      (_, i) => `registry.example.com/team/${i % 2 ? 'x'.repeat(150) : 'app'}-${i}:1`,
    );
    const p = plan(refs, { platforms: ['linux/amd64', 'linux/arm64'], concurrency: 8 });
    const present = refs.filter((_, i) => i % 2 === 0);
    const r = await run(
      p,
      present.map((ref) => ({ ref, platforms: ['linux/amd64', 'linux/arm64'] })),
    );
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n').filter((l) => /^@@BES\t(count|pull|end)\t/.test(l));
    expect(lines[0]).toBe('@@BES\tcount\t60\t0\t60');
    // All 60 failures come before the first pull that went well.
    const firstOk = lines.findIndex((l) => /\tok\t/.test(l));
    expect(lines.slice(1, firstOk).every((l) => /\tfail\t/.test(l))).toBe(true);
    expect(firstOk).toBe(61);
    expect(lines.at(-1)).toBe('@@BES\tend\t60\t0\t60');
    // Cut where SSM cuts: the counts and every failure are still there, some successes not.
    const cut = parseScriptReport(r.stdout.slice(0, 24_000), p.images);
    expect(r.stdout.length).toBeGreaterThan(24_000);
    expect(cut.complete).toBe(false);
    expect(cut.totals).toEqual({ pulled: 60, skipped: 0, failed: 60 });
    expect(cut.pulls.filter((x) => x.status === 'fail')).toHaveLength(60);
    expect(cut.pulls.filter((x) => x.status === 'ok').length).toBeLessThan(60);
    // The builder keeps the same report for the action to read, since the output was cut.
    expect(readFileSync(p.reportFile, 'utf8')).toBe(`${lines.join('\n')}\n`);
  }, 60_000);

  it('keeps no report file when the output is short enough never to be cut', async () => {
    const p = plan([PAUSE]);
    const r = await run(p, [{ ref: PAUSE, platforms: ['linux/amd64'] }]);
    expect(r.code).toBe(0);
    expect(existsSync(p.reportFile)).toBe(false);
  });
});

describe('what the snapshot must not carry (builder identity)', () => {
  it('removes host keys, the journal and other builder state, and the SSM agent state at shutdown', async () => {
    const r = await run(plan([PAUSE]), [{ ref: PAUSE, platforms: ['linux/amd64'] }]);
    expect(r.code).toBe(0);
    const host = r.instance.read('host-commands.log');
    expect(host).toContain('journalctl --relinquish-var');
    expect(host).toContain(
      'rm -rf -- /local/host-containers/admin/etc/ssh /local/host-containers/admin/user-data /local/var/log/journal',
    );
    const unit = r.instance.read('systemd-run.log');
    expect(unit).toContain('--property=Before=host-containers@control.service');
    expect(unit).toContain('--property=RequiresMountsFor=/local');
    expect(unit).toContain(
      '--property=ExecStop=/usr/bin/rm -rf -- /local/host-containers/control/ssm',
    );
    // Scrubbed after the pulls, before containerd or the instance stops.
    const lines = host.split('\n');
    const scrub = lines.findIndex((l) => l.startsWith('rm -rf'));
    expect(scrub).toBeGreaterThan(lines.findIndex((l) => l.includes('images pull')));
  });

  it('removes the SSM registration key itself for a live snapshot, then stops containerd', async () => {
    const r = await run(plan([PAUSE], { quiesce: true }), [
      { ref: PAUSE, platforms: ['linux/amd64'] },
    ]);
    expect(r.code).toBe(0);
    const lines = r.instance.read('host-commands.log').split('\n');
    const vault = lines.indexOf('rm -rf -- /local/host-containers/control/ssm/Vault');
    expect(vault).toBeGreaterThan(0);
    expect(lines.indexOf('systemctl stop containerd')).toBeGreaterThan(vault);
    expect(r.instance.has('systemd-run.log')).toBe(false);
  });

  it('fails the build rather than snapshot a builder it could not scrub', async () => {
    const r = await run(plan([PAUSE]), [{ ref: PAUSE, platforms: ['linux/amd64'] }], {
      STUB_SYSTEMD_RUN_FAIL: 'Access denied',
    });
    expect(r.code).toBe(95);
    expect(r.report.phaseFailure).toEqual({
      phase: 'scrub',
      message: expect.stringContaining('Access denied'),
    });
  });

  it('leaves a failed build alone (no snapshot is taken of it)', async () => {
    const r = await run(plan([PAUSE]), []);
    expect(r.code).toBe(1);
    expect(r.instance.read('host-commands.log')).not.toContain('rm -rf');
  });
});

describe('names', () => {
  it('stores repo:tag@digest as repo@digest, as the kubelet looks it up', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(storageName(parseImageReference(`nginx:1.27@${digest}`))).toBe(
      `docker.io/library/nginx@${digest}`,
    );
    expect(storageName(parseImageReference('nginx'))).toBe('docker.io/library/nginx:latest');
  });

  it.each([
    '123456789012.dkr.ecr.us-west-2.amazonaws.com',
    '123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com',
    '123456789012.dkr-ecr.us-west-2.on.aws',
    '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn',
    '123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu',
    '123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov',
  ])('authenticates %s as the credential provider does', (host) => {
    expect(needsEcrAuth(parseImageReference(`${host}/app:1`))).toBe(true);
  });

  it.each(['public.ecr.aws', 'ghcr.io', '123456789012.dkr.ecr.us-west-2.example.com'])(
    'pulls from %s anonymously',
    (host) => expect(needsEcrAuth(parseImageReference(`${host}/app:1`))).toBe(false),
  );
});

describe.each(['1.7', '2.1'])('incremental builds (containerd %s)', (version) => {
  beforeEach(() => {
    ctrVersion = version;
  });

  it("removes images no longer listed, keeps Bottlerocket's own, and reports unchanged images as reused", async () => {
    const PINNED = `docker.io/acme/tool@sha256:${'6'.repeat(64)}`;
    const p = plan([PAUSE, JUPYTER, PINNED], { prune: true });
    instance = simulatedInstance(
      [
        { ref: PAUSE, platforms: ['linux/amd64'], digest: `sha256:${'1'.repeat(64)}` },
        { ref: JUPYTER, platforms: ['linux/amd64'], digest: `sha256:${'3'.repeat(64)}` },
        { ref: PINNED, platforms: ['linux/amd64'], digest: `sha256:${'6'.repeat(64)}` },
      ],
      { STUB_CTR_VERSION: ctrVersion },
    );
    seedImage(instance, PAUSE, `sha256:${'1'.repeat(64)}`, ['linux/amd64']);
    seedImage(instance, JUPYTER, `sha256:${'2'.repeat(64)}`, ['linux/amd64']);
    seedImage(instance, PINNED, `sha256:${'6'.repeat(64)}`, ['linux/amd64']);
    // Several to remove: every one of them goes (apiclient must not eat the list on stdin).
    for (const retired of [
      'docker.io/acme/retired:1',
      'docker.io/acme/retired:2',
      'ghcr.io/acme/old:9',
    ])
      seedImage(instance, retired, `sha256:${'4'.repeat(64)}`, ['linux/amd64']);
    seedImage(instance, 'localhost/kubernetes/pause:0.1.0', `sha256:${'5'.repeat(64)}`, [
      'linux/amd64',
    ]);
    // CRI's ID reference beside a name (the pause image's config digest).
    seedImage(instance, `sha256:${'8'.repeat(64)}`, `sha256:${'5'.repeat(64)}`, ['linux/amd64']);
    const r = await runScript(renderInstanceScript(p), instance);
    expect(r.code).toBe(0);
    const report = parseScriptReport(r.stdout, p.images);
    expect(report.removed.sort()).toEqual([
      'docker.io/acme/retired:1',
      'docker.io/acme/retired:2',
      'ghcr.io/acme/old:9',
    ]);
    expect(instance.read('removed.log').split('\n').filter(Boolean).sort()).toEqual(report.removed);
    // A listed image pinned by digest is kept, and reported as already there.
    expect(report.pulls.map((x) => [x.image.normalized, x.reused])).toEqual([
      [PAUSE, true],
      [JUPYTER, false],
      [PINNED, true],
    ]);
    expect(instance.has('images/localhost_kubernetes_pause_0.1.0')).toBe(true);
    expect(instance.has(`images/sha256_${'8'.repeat(64)}`)).toBe(true);
  });

  it('does not prune a fresh volume', async () => {
    const p = plan([PAUSE]);
    instance = simulatedInstance([{ ref: PAUSE, platforms: ['linux/amd64'] }], {
      STUB_CTR_VERSION: ctrVersion,
    });
    seedImage(instance, 'docker.io/acme/other:1', `sha256:${'4'.repeat(64)}`, ['linux/amd64']);
    const r = await runScript(renderInstanceScript(p), instance);
    expect(r.code).toBe(0);
    expect(parseScriptReport(r.stdout, p.images).removed).toEqual([]);
    expect(instance.has('images/docker.io_acme_other_1')).toBe(true);
  });
});

describe('parseSize', () => {
  it.each([
    ['301.6 KiB', Math.round(301.6 * 1024)],
    ['2 GiB', 2 * 1024 ** 3],
    ['12 B', 12],
    ['1.5 MB', 1_500_000],
    ['-', undefined],
    ['3 parsecs', undefined],
  ])('%s', (text, bytes) => expect(parseSize(text)).toBe(bytes));
});

describe('parseScriptReport', () => {
  it('marks a report cut short (no end line) as incomplete and ignores noise', () => {
    const images = [parseImageReference(PAUSE)];
    const r = parseScriptReport(
      'noise\n@@BES\tpull\t0\tlinux/amd64\tok\t1234\tsha256:abc\t1 MiB\t\n',
      images,
    );
    expect(r.complete).toBe(false);
    expect(r.pulls).toEqual([
      {
        image: images[0],
        platform: 'linux/amd64',
        status: 'ok',
        seconds: 1.2,
        reused: false,
        digest: 'sha256:abc',
        size: '1 MiB',
        sizeBytes: 1048576,
      },
    ]);
  });
});

const shellcheck = spawnSync('shellcheck', ['--version']).status === 0;
describeWith(shellcheck ? undefined : 'shellcheck not found: apt-get install shellcheck')(
  'shellcheck',
  () => {
    it('finds nothing in the script as rendered (header and body)', () => {
      const dir = mkdtempSync(join(tmpdir(), 'bes-shellcheck-'));
      try {
        const file = join(dir, 'script.sh');
        const p = plan([PAUSE, PRIVATE, `docker.io/acme/tool:1@sha256:${'6'.repeat(64)}`], {
          platforms: ['linux/amd64', 'linux/arm64'],
          prune: true,
          quiesce: true,
        });
        writeFileSync(file, renderInstanceScript(p));
        const result = spawnSync('shellcheck', ['--severity=style', file], { encoding: 'utf8' });
        expect(result.stdout).toBe('');
        expect(result.status).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
