/**
 * What updateManifestFiles refuses to read or edit, whatever the file holds: a file
 * over the size limit (before a byte of it is read or parsed), and a hard-linked file.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { link, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ActionError } from '../../../src/errors.js';
import { MemoryLogger } from '../../../src/logger.js';
import { updateManifestFiles } from '../../../src/manifests/index.js';
import { rejectionOf } from '../../../test-support/rejection.js';
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

describe('updateManifestFiles limits', () => {
  it('refuses a 100 MB file in under a second, naming it and its size, and changes no file', async () => {
    // A YAML bomb of a size: 100 MB of one big mapping (sparse, so the test writes little).
    const big = path.join(workspace, 'deploy/huge.yaml');
    const handle = await open(big, 'w');
    await handle.write('apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\n');
    await handle.truncate(100 * 1000 * 1000);
    await handle.close();
    const before = await readFile(path.join(workspace, 'deploy/cluster.yaml'), 'utf8');
    const started = Date.now();
    const error = await rejectionOf(update(), ActionError);
    expect(Date.now() - started).toBeLessThan(1000);
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
