/**
 * The action under GitHub's own local runner for JavaScript actions, @github/local-action:
 * src/entry/main.ts then src/entry/post.ts (each exports run()), against the emulator, with
 * the inputs in a .env file as that tool takes them.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUILD_INPUTS,
  instancesOfRun,
  runTagFilter,
  startEmulator,
  type Emulator,
} from '../../test-support/emulator.js';
import { REPO_ROOT } from '../../test-support/runner.js';

const PAUSE = 'public.ecr.aws/eks-distro/kubernetes/pause:3.2';
const LOCAL_ACTION = join(REPO_ROOT, 'node_modules/.bin/local-action');

let emu: Emulator;
let dir: string;
beforeAll(async () => {
  emu = await startEmulator([{ ref: PAUSE, platforms: ['linux/amd64'], size: '301.6 KiB' }]);
  dir = mkdtempSync(join(tmpdir(), 'bes-local-action-'));
}, 60_000);
afterAll(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('@github/local-action', () => {
  it('runs the main step then the post step: a completed snapshot, no builder left', async () => {
    // The runner's credentials, no role to assume: local-action has no OIDC token endpoint.
    const inputs = Object.fromEntries(
      Object.entries(BUILD_INPUTS).filter(([name]) => name !== 'role-to-assume'),
    );
    const env: Record<string, string> = {
      ...Object.fromEntries(
        Object.entries({ ...inputs, images: PAUSE, 'checkpoint-snapshots': 'false' }).map(
          ([k, v]) => [`INPUT_${k.toUpperCase()}`, v],
        ),
      ),
      // The runner's credentials (no role to assume): the emulator takes any.
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      ...Object.fromEntries(Object.entries(emu.env).filter(([k]) => k.startsWith('AWS_'))),
      GITHUB_REPOSITORY: 'acme/platform',
      GITHUB_RUN_ID: '9901',
      GITHUB_RUN_ATTEMPT: '1',
    };
    const dotenv = join(dir, '.env');
    writeFileSync(
      dotenv,
      Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
    );
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        LOCAL_ACTION,
        ['run', REPO_ROOT, 'src/entry/main.ts', dotenv, '--post', 'src/entry/post.ts'],
        {
          cwd: REPO_ROOT,
          timeout: 120_000,
          maxBuffer: 16 << 20,
          env: { PATH: process.env.PATH ?? '', HOME: dir },
        },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
      ),
    );
    expect(output).toContain('Running Action');
    expect(output).toContain('Running Post Step');
    expect(output).not.toContain('::error::');
    const snapshots =
      (await emu.ec2.send(new DescribeSnapshotsCommand({ Filters: runTagFilter('9901') })))
        .Snapshots ?? [];
    expect(snapshots.map((s) => s.State)).toEqual(['completed']);
    expect(output).toContain(snapshots[0]?.SnapshotId ?? 'no snapshot');
    const states = (await instancesOfRun(emu.ec2, '9901')).map((i) => i.State?.Name);
    expect(states).toEqual(['terminated']);
  }, 150_000);
});
