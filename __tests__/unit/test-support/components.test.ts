/**
 * Finding the real components: moto by PATH, by its Python module, or not at all (with the
 * message saying what to install), and CI turning a would-be skip into a failure.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ComponentMissing,
  findComponent,
  motoCommand,
  MOTO_ENV,
  provideComponent,
  unavailable,
  which,
} from '../../../test-support/components.js';
import { describeWith } from '../../../test-support/requires.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bes-components-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A Python 3 that imports moto (the one moto_server runs on), when this machine has one. */
function pythonWithMoto(): string | undefined {
  const probe = spawnSync('python3', ['-c', 'import moto.server, sys; print(sys.executable)'], {
    encoding: 'utf8',
  });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

describeWith(pythonWithMoto() ? undefined : 'no python3 here imports moto')('moto', () => {
  it('uses `python3 -m moto.server` when moto_server is not on PATH but the module imports', () => {
    symlinkSync(pythonWithMoto() ?? '', join(dir, 'python3'));
    const env = { PATH: dir };
    expect(which('moto_server', env)).toBeUndefined();
    const found = findComponent('moto', { env, root: dir });
    expect(found).toMatchObject({ args: ['-m', 'moto.server'], how: 'python3 -m moto.server' });
    // And that command really is moto's server.
    const help = spawnSync(found?.command ?? '', [...(found?.args ?? []), '--help'], {
      encoding: 'utf8',
    });
    expect(help.stdout).toMatch(/usage: .*-H HOST.*-p PORT/s);
  });
});

describe('moto, when it cannot be had', () => {
  it('fails at once, naming what to install and how, with neither moto_server nor python3', () => {
    const started = Date.now();
    const env = { PATH: dir };
    expect(findComponent('moto', { env, root: dir })).toBeUndefined();
    let error: unknown;
    try {
      provideComponent('moto', { env, root: dir });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ComponentMissing);
    expect((error as Error).message).toMatch(
      /install Python 3, then install it with 'pipx install "moto\[server\]==5/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('says so when a python3 cannot make a virtual environment', () => {
    // A python3 whose venv module fails, as Debian's without python3-venv does.
    writeFileSync(
      join(dir, 'python3'),
      '#!/bin/sh\necho "ensurepip is not available" >&2\nexit 1\n',
      {
        mode: 0o755,
      },
    );
    const started = Date.now();
    expect(() => provideComponent('moto', { env: { PATH: dir }, root: dir })).toThrow(
      /'python3 -m venv' failed \(ensurepip is not available\): on Debian or Ubuntu 'apt-get install python3-venv'/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('is told to the test workers by the entry point, or found again', () => {
    const given = { name: 'moto', command: '/opt/moto/bin/moto_server', args: [], how: 'given' };
    expect(motoCommand({ [MOTO_ENV]: JSON.stringify(given) })).toEqual(given);
    expect(() => motoCommand({ PATH: dir })).toThrow(ComponentMissing);
    expect(unavailable('moto', { PATH: dir })).toBe('moto is not installed');
  });
});

describe('Debian packages', () => {
  it('finds a component only when all of its executables are on PATH', () => {
    writeFileSync(join(dir, 'containerd'), '#!/bin/sh\n', { mode: 0o755 });
    expect(findComponent('containerd', { env: { PATH: dir } })).toBeUndefined();
    writeFileSync(join(dir, 'ctr'), '#!/bin/sh\n', { mode: 0o755 });
    expect(findComponent('containerd', { env: { PATH: dir } })).toMatchObject({
      command: join(dir, 'containerd'),
      how: 'containerd and ctr on PATH',
    });
    expect(unavailable('shellcheck', { PATH: dir })).toMatch(/apt-get install shellcheck/);
  });
});

describe('describeWith', () => {
  const saved = process.env.CI;
  afterEach(() => {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  });

  it('skips with the reason outside CI, and under CI=true turns the skip into a failing test', () => {
    delete process.env.CI;
    expect(describeWith('containerd is not installed')).toBe(describe.skip);
    expect(describeWith(undefined)).toBe(describe);
    process.env.CI = 'true';
    const failing = describeWith('containerd is not installed');
    expect(failing).not.toBe(describe.skip);
    expect(failing).not.toBe(describe);
  });
});
