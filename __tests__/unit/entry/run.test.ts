/**
 * The action's run(), in process, as the runner drives it: INPUT_* variables and the
 * GITHUB_STATE / GITHUB_OUTPUT files, main then post. A bad input fails the main step before any
 * AWS call, and the post step after it has nothing to do.
 */
import { afterEach, beforeEach, expect, it, jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/entry/run.js';

let dir: string;
const saved = { ...process.env };
let written: string[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bes-entry-'));
  for (const name of ['GITHUB_STATE', 'GITHUB_OUTPUT', 'GITHUB_STEP_SUMMARY']) {
    const file = join(dir, name);
    writeFileSync(file, '');
    process.env[name] = file;
  }
  // No AWS: any call would fail, so a run that makes none is what is asserted.
  process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
  process.env.INPUT_IMAGES = 'busybox:1; rm -rf /';
  process.env['INPUT_AWS-REGION'] = 'us-west-2';
  process.env['INPUT_INSTANCE-PROFILE'] = 'builder';
  written = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
});
afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...saved };
  process.exitCode = undefined;
  rmSync(dir, { recursive: true, force: true });
});

it('runs the main step, failing on a bad input, then the post step with nothing to do', async () => {
  await run();
  expect(process.exitCode).toBe(1);
  expect(written.join('')).toMatch(/::error::Input 'images': /);
  const state = readFileSync(process.env.GITHUB_STATE ?? '', 'utf8');
  expect(state).toMatch(/^isPost<<ghadelimiter_[\w-]+\ntrue\n/m);

  // The runner starts the same entry again for the post step, with the saved state.
  process.exitCode = undefined;
  process.env.STATE_isPost = 'true';
  written = [];
  await run();
  expect(process.exitCode).toBeUndefined();
  expect(written.join('')).not.toContain('::error::');
});
