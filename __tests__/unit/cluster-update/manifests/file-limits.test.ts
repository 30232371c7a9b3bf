/**
 * What updateManifestFiles refuses to read or edit, whatever the file holds: a file
 * over the size limit (before a byte of it is read or parsed), and a hard-linked file.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { link, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ActionError } from '../../../../src/core/errors.js';
import { MemoryLogger } from '../../../../test-support/memory-logger.js';
import { updateManifestFiles } from '../../../../src/cluster-update/manifests/index.js';
import { rejectionOf } from '../../../../test-support/rejection.js';
import { NEW_SNAPSHOT, readFixture } from './fixture-cases.js';

let workspace: string;
let outside: string;

beforeEach(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'manifests-limits-'));
  outside = await mkdtemp(path.join(tmpdir(), 'manifests-limits-outside-'));
  await mkdir(path.join(workspace, 'deploy'), { recursive: true });
  await writeFile(path.join(workspace, 'deploy/cluster.yaml'), readFixture('eksctl-article.yaml'));
});
afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

const update = (maxFileBytes?: number) =>
  updateManifestFiles({
    workspace,
    patterns: ['deploy/*.yaml'],
    options: { snapshotId: NEW_SNAPSHOT },
    write: true,
    logger: new MemoryLogger(),
    ...(maxFileBytes !== undefined ? { maxFileBytes } : {}),
  });

/**
 * A bound against runaway work, not a benchmark: each refusal here takes milliseconds on an idle
 * machine, and the work it refuses (reading 100 MB, expanding a billion aliases, following
 * 100,000 aliases one by one) grows far past this bound. Tight bounds (1-2 s) failed on a loaded
 * 2-core machine while the code did the same work.
 */
const RUNAWAY_MS = 15_000;

describe('updateManifestFiles limits', () => {
  it('refuses a 100 MB file at once, naming it and its size, and changes no file', async () => {
    // A YAML bomb of a size: 100 MB of one big mapping (sparse, so the test writes little).
    const big = path.join(workspace, 'deploy/huge.yaml');
    const handle = await open(big, 'w');
    await handle.write('apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\n');
    await handle.truncate(100 * 1000 * 1000);
    await handle.close();
    const before = await readFile(path.join(workspace, 'deploy/cluster.yaml'), 'utf8');
    const started = Date.now();
    const error = await rejectionOf(update(), ActionError);
    expect(Date.now() - started).toBeLessThan(RUNAWAY_MS);
    expect(error.message).toBe(
      "deploy/huge.yaml is 95.4 MiB, over the 4.0 MiB a manifest may be (input 'update-files-max-size'): not read. No file was changed.",
    );
    expect(await readFile(path.join(workspace, 'deploy/cluster.yaml'), 'utf8')).toBe(before);
  });

  it('reads a file up to the limit given', async () => {
    const size = Buffer.byteLength(readFixture('eksctl-article.yaml'));
    await expect(update(size)).resolves.toMatchObject({ lookedAt: ['deploy/cluster.yaml'] });
    await expect(update(size - 1)).rejects.toThrow('deploy/cluster.yaml is');
  });

  it('refuses matched files adding up to more than four times the limit', async () => {
    const size = Buffer.byteLength(readFixture('eksctl-article.yaml'));
    for (const n of [2, 3, 4]) {
      await writeFile(
        path.join(workspace, `deploy/c${n}.yaml`),
        readFixture('eksctl-article.yaml'),
      );
    }
    await expect(update(size)).resolves.toMatchObject({ files: { length: 4 } });
    await writeFile(path.join(workspace, 'deploy/c5.yaml'), readFixture('eksctl-article.yaml'));
    await expect(update(size)).rejects.toThrow(
      "(4 times 'update-files-max-size') by deploy/cluster.yaml: not read. No file was changed.",
    );
  });

  it("refuses a billion laughs at once, with the yaml library's own alias limit", async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const next = String.fromCharCode(97 + i);
      levels.push(`${next}: &${next} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    await writeFile(
      path.join(workspace, 'deploy/lol.yaml'),
      `apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\n${levels.join('\n')}\n`,
    );
    const started = Date.now();
    const error = await rejectionOf(update(), ActionError);
    expect(Date.now() - started).toBeLessThan(RUNAWAY_MS);
    expect(error.message).toBe(
      "deploy/lol.yaml: its YAML aliases expand beyond the yaml library's limit (maxAliasCount 100): not edited. No file was changed.",
    );
  });

  it('refuses an alias repeated 100,000 times (each followed alone would take quadratic time)', async () => {
    await writeFile(
      path.join(workspace, 'deploy/many.yaml'),
      `apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nx: &x 1\nl: [${Array(100_000).fill('*x').join(', ')}]\n`,
    );
    const started = Date.now();
    await expect(update()).rejects.toThrow('deploy/many.yaml: its YAML aliases expand beyond');
    expect(Date.now() - started).toBeLessThan(RUNAWAY_MS);
  });

  it('accepts the few aliases manifests use', async () => {
    await writeFile(
      path.join(workspace, 'deploy/cluster.yaml'),
      readFixture('eksctl-article.yaml') +
        'x-tags: &tags {team: ml}\nmore: [*tags, *tags, *tags]\n',
    );
    await expect(update()).resolves.toMatchObject({ lookedAt: ['deploy/cluster.yaml'] });
  });

  it('refuses a file of more than 1000 documents before parsing it', async () => {
    await writeFile(path.join(workspace, 'deploy/docs.yaml'), '---\na: 1\n'.repeat(400_000));
    const started = Date.now();
    const error = await rejectionOf(update(), ActionError);
    expect(Date.now() - started).toBeLessThan(RUNAWAY_MS);
    expect(error.message).toBe(
      'deploy/docs.yaml: more than 1000 YAML documents, more than a manifest holds: not edited. No file was changed.',
    );
  });

  it('refuses a 3.7 MiB mapping of 100,000 keys in seconds, not minutes', async () => {
    const keys = Array.from(
      { length: 100_000 },
      (_, k) => `  key${k}: value-${k}-xxxxxxxxxxxxxxxx`,
    );
    await writeFile(
      path.join(workspace, 'deploy/wide.yaml'),
      `${readFixture('eksctl-article.yaml')}filler:\n${keys.join('\n')}\n`,
    );
    const started = Date.now();
    const error = await rejectionOf(update(), ActionError);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error.message).toBe(
      'deploy/wide.yaml: a mapping of 100000 keys, more than the 1000 a manifest has: not edited. No file was changed.',
    );
  }, 20_000);

  it('does not edit a hard-linked file: the other link may be outside the workspace', async () => {
    await link(path.join(workspace, 'deploy/cluster.yaml'), path.join(outside, 'prod.yaml'));
    const logger = new MemoryLogger();
    const error = await rejectionOf(
      updateManifestFiles({
        workspace,
        patterns: ['deploy/*.yaml'],
        options: { snapshotId: NEW_SNAPSHOT },
        write: true,
        logger,
      }),
      ActionError,
    );
    expect(error.message).toContain('deploy/cluster.yaml (skipped: it has 2 hard links');
    expect(await readFile(path.join(outside, 'prod.yaml'), 'utf8')).toBe(
      readFixture('eksctl-article.yaml'),
    );
  });
});
