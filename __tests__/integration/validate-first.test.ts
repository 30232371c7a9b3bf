/**
 * Every input is checked before the first AWS call, the manifest update's included: the
 * bundle, run as the runner runs it, with a proxy in front of EC2 that counts the calls,
 * the SSM stand-in's and the OIDC endpoint's requests. A run that can only fail at the end
 * (a pattern leaving the workspace, no file matched, a file without a data volume target,
 * a file too big to read) fails at the start, having asked AWS nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUILD_INPUTS,
  instancesOfRun,
  startEmulator,
  type Emulator,
} from '../../test-support/emulator.js';
import { startFaultProxy, type FaultProxy } from '../../test-support/fault-proxy.js';
import { REPO_ROOT, runMainAndPost } from '../../test-support/runner.js';

const PAUSE = 'public.ecr.aws/eks-distro/kubernetes/pause:3.2';
const EKSCTL = readFileSync(join(REPO_ROOT, '__fixtures__/manifests/eksctl-article.yaml'), 'utf8');

let emu: Emulator;
let proxy: FaultProxy;
const dirs: string[] = [];
let run = 0;

beforeAll(async () => {
  emu = await startEmulator([{ ref: PAUSE, platforms: ['linux/amd64'] }]);
  proxy = await startFaultProxy(emu.moto.url);
}, 60_000);
afterAll(async () => {
  await proxy?.close();
  await emu?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 30_000);

function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'bes-validate-'));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** Runs main and post; returns them with how many AWS and OIDC requests the run made. */
async function attempt(dir: string, inputs: Record<string, string>) {
  run++;
  const runId = String(8000 + run);
  proxy.clear();
  const ssmBefore = emu.ssm.requests.length;
  const oidcBefore = emu.oidc.audiences.length;
  const { main, post } = await runMainAndPost({
    inputs: {
      ...BUILD_INPUTS,
      images: PAUSE,
      ...inputs,
    },
    env: {
      ...emu.env,
      AWS_ENDPOINT_URL_EC2: proxy.url,
      GITHUB_RUN_ID: runId,
      GITHUB_WORKSPACE: dir,
    },
    timeoutMs: 60_000,
  });
  return {
    main,
    post,
    awsCalls: proxy.calls.length + emu.ssm.requests.length - ssmBefore,
    oidcRequests: emu.oidc.audiences.length - oidcBefore,
    instances: await instancesOfRun(emu.ec2, runId),
  };
}

describe('validated before the first AWS call', () => {
  it.each([
    [
      'a pattern leaving the workspace',
      { 'update-files': '../outside/prod.yaml' },
      {},
      "::error::Input 'update-files': '../outside/prod.yaml' contains a '..' segment",
    ],
    [
      'an absolute pattern',
      { 'update-files': '/etc/eks/*.yaml' },
      {},
      "::error::Input 'update-files': '/etc/eks/*.yaml' is an absolute path",
    ],
    [
      'no file matched',
      { 'update-files': 'clusters/*.yaml' },
      { 'other/prod.yaml': EKSCTL },
      '::error::Nothing was updated: no file matched update-files (clusters/*.yaml)',
    ],
    [
      'a file without a data volume target',
      { 'update-files': 'clusters/*.yaml' },
      {
        'clusters/prod.yaml':
          'apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: prod\n',
      },
      '::error::Nothing was updated: no eksctl node group',
    ],
    [
      'a file that is not YAML',
      { 'update-files': 'clusters/*.yaml' },
      { 'clusters/prod.yaml': 'a: [1, 2\n' },
      '::error::clusters/prod.yaml:',
    ],
  ])(
    '%s',
    async (_what, inputs, files, error) => {
      const result = await attempt(workspace(files), inputs);
      expect(result.main.code).toBe(1);
      expect(result.main.stdout).toContain(error);
      expect(result.awsCalls).toBe(0);
      expect(result.oidcRequests).toBe(0);
      expect(result.instances).toEqual([]);
      expect(result.post.code).toBe(0);
      expect(result.post.stdout).toContain('nothing to clean up');
      expect(result.awsCalls).toBe(0);
    },
    60_000,
  );

  it('a file over update-files-max-size, refused unread in well under a second', async () => {
    const dir = workspace({ 'clusters/prod.yaml': EKSCTL, 'clusters/huge.yaml': '' });
    truncateSync(join(dir, 'clusters/huge.yaml'), 100 * 1000 * 1000);
    const result = await attempt(dir, { 'update-files': 'clusters/*.yaml' });
    expect(result.main.code).toBe(1);
    expect(result.main.stdout).toContain(
      "::error::clusters/huge.yaml is 95.4 MiB, over the 4.0 MiB a manifest may be (input 'update-files-max-size'): not read.",
    );
    expect(result.main.ms).toBeLessThan(3_000);
    expect(result.awsCalls).toBe(0);
    expect(result.instances).toEqual([]);
  }, 60_000);

  it('the matched files are listed at the start, and the build goes on', async () => {
    const dir = workspace({ 'clusters/prod.yaml': EKSCTL });
    const result = await attempt(dir, { 'update-files': 'clusters/*.yaml' });
    expect(result.main.code).toBe(0);
    const listed = result.main.stdout.indexOf(
      'update-files matches 1 file(s): clusters/prod.yaml.',
    );
    expect(listed).toBeGreaterThanOrEqual(0);
    expect(listed).toBeLessThan(result.main.stdout.indexOf('[1/8] Checking AWS credentials'));
    expect(readFileSync(join(dir, 'clusters/prod.yaml'), 'utf8')).toContain(
      result.main.outputs['snapshot-id'] ?? 'missing',
    );
  }, 60_000);
});
