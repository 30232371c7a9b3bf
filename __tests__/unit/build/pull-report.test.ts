/**
 * Reading the whole pull report back from the builder in pages. SSM is mocked, and each page's
 * script really runs here (bash, gzip, base64, as in the control container), its output cut to
 * SSM's 24,000 characters as GetCommandInvocation does.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  GetCommandInvocationCommand,
  SendCommandCommand,
  SSMClient,
  type SendCommandCommandInput,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActionError } from '../../../src/core/errors.js';
import { fetchFullReport, MAX_PAGES, PAGE_CHARS } from '../../../src/build/pull-report.js';
import { rejectionOf } from '../../../test-support/rejection.js';
import { ssmDeps } from '../../../test-support/build.js';

const ssm = mockClient(SSMClient);
let dir: string;
let file: string;
const outputs = new Map<string, { stdout: string; code: number }>();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bes-pull-report-'));
  file = join(dir, 'pull.report');
  let n = 0;
  ssm.on(SendCommandCommand).callsFake((input: SendCommandCommandInput) => {
    const script = (input.Parameters?.commands ?? []).join('\n');
    const run = spawnSync('bash', ['-c', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const id = `cmd-${++n}`;
    outputs.set(id, { stdout: run.stdout.slice(0, 24_000), code: run.status ?? -1 });
    return { Command: { CommandId: id } };
  });
  ssm.on(GetCommandInvocationCommand).callsFake((input: { CommandId?: string }) => {
    const out = outputs.get(input.CommandId ?? '');
    return {
      Status: out?.code === 0 ? 'Success' : 'Failed',
      ResponseCode: out?.code,
      StandardOutputContent: out?.stdout,
    };
  });
});
afterEach(() => {
  ssm.reset();
  outputs.clear();
  rmSync(dir, { recursive: true, force: true });
});

const deps = ssmDeps;
const request = () => ({ instanceId: 'i-1', reportFile: file, comment: 'test' });

/** A report of `lines` pull lines with random digests (which do not compress). */
function report(lines: number): string {
  const body = Array.from(
    { length: lines },
    (_, i) =>
      `@@BES\tpull\t${i}\tlinux/amd64\tok\t1200\tsha256:${randomBytes(32).toString('hex')}\t12.0 MiB\t0\t`,
  );
  return `@@BES\tcount\t${lines}\t0\t0\n${body.join('\n')}\n@@BES\tend\t${lines}\t0\t0\n`;
}

describe('fetchFullReport', () => {
  it('reads a report far over SSM output limits in pages, whole, and removes the file after', async () => {
    const text = report(3000);
    expect(text.length).toBeGreaterThan(300_000);
    writeFileSync(file, text);
    const got = await fetchFullReport(request(), deps());
    expect(got).toBe(text);
    const pages = ssm.commandCalls(SendCommandCommand).length;
    expect(pages).toBeGreaterThan(1);
    expect(pages).toBeLessThanOrEqual(Math.ceil((text.length * 1.4) / PAGE_CHARS));
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.b64`)).toBe(false);
  });

  it('reads a small report in one page', async () => {
    const text = report(3);
    writeFileSync(file, text);
    expect(await fetchFullReport(request(), deps())).toBe(text);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it('says so when the builder has no report', async () => {
    const error = await rejectionOf(fetchFullReport(request(), deps()), ActionError);
    expect(error.message).toMatch(/Could not read the pull report from the builder \(page 1/);
  });

  it('gives up past its bound on pages', async () => {
    writeFileSync(file, report(3000));
    const error = await rejectionOf(
      fetchFullReport({ ...request(), maxPages: 3 }, deps()),
      ActionError,
    );
    expect(error.message).toContain('over 3 pages');
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(3);
    expect(MAX_PAGES).toBeGreaterThanOrEqual(3);
  });
});
