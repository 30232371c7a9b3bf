/**
 * Runs generated instance scripts here, with the stand-ins in
 * test-support/instance/ (apiclient, ctr, systemctl, ecr-credential-provider)
 * playing the Bottlerocket host, the way the SSM agent runs them: `sh -c <file>`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPORT_PREFIX } from '../src/build/instance-script.js';

export const STUB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), 'instance');

export interface StubImage {
  ref: string;
  platforms: string[];
  digest?: string;
  size?: string;
  delaySeconds?: number;
  error?: string;
  auth?: 'ecr' | 'none';
  /** An index (default) or a single manifest, which containerd takes for any platform. */
  media?: 'index' | 'manifest';
}

export function registryFixture(images: StubImage[]): string {
  return images
    .map((i, n) =>
      [
        i.ref,
        i.platforms.join(','),
        i.digest ?? `sha256:${String(n + 1).padStart(64, 'a')}`,
        i.size ?? `${n + 1}.5 MiB`,
        String(i.delaySeconds ?? 0),
        i.error ?? '',
        i.auth ?? 'none',
        i.media ?? 'index',
      ].join('\t'),
    )
    .join('\n')
    .concat('\n');
}

export interface SimulatedInstance {
  dir: string;
  stateDir: string;
  registryFile: string;
  env: Record<string, string>;
  cleanup(): void;
  read(name: string): string;
  has(name: string): boolean;
}

export function simulatedInstance(
  images: StubImage[],
  extraEnv: Record<string, string> = {},
): SimulatedInstance {
  const dir = mkdtempSync(join(tmpdir(), 'bes-instance-'));
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  const registryFile = join(dir, 'registry.tsv');
  writeFileSync(registryFile, registryFixture(images));
  const env = {
    INSTANCE_STATE_DIR: stateDir,
    STUB_REGISTRY_FILE: registryFile,
    PATH: `${STUB_DIR}:${process.env.PATH ?? ''}`,
    ...extraEnv,
  };
  return {
    dir,
    stateDir,
    registryFile,
    env,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
    read: (name) => readFileSync(join(stateDir, name), 'utf8'),
    has: (name) => existsSync(join(stateDir, name)),
  };
}

/** Puts an image on the simulated data volume, as a base snapshot would bring it (ctr stand-in's store). */
export function seedImage(
  instance: SimulatedInstance,
  ref: string,
  digest: string,
  platforms: string[],
): void {
  const key = ref.replace(/[/:@]/g, '_');
  mkdirSync(join(instance.stateDir, 'images'), { recursive: true });
  const list = platforms.join(',');
  writeFileSync(
    join(instance.stateDir, 'images', key),
    [
      `ref=${ref}`,
      `digest=${digest}`,
      'size=1.0 MiB',
      'media=index',
      `platforms=${list}`,
      `fetched=${list}`,
      `unpacked=${list}`,
      'snapshotter=overlayfs',
      'label=io.cri-containerd.image=managed',
      'label=io.cri-containerd.pinned=pinned',
      '',
    ].join('\n'),
  );
}

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a script as the SSM agent does (written to a file, `sh -c file`), killed after timeoutMs. */
export function runScript(
  script: string,
  instance: SimulatedInstance,
  timeoutMs = 30_000,
): Promise<ScriptRun> {
  const file = join(instance.dir, '_script.sh');
  writeFileSync(file, script, { mode: 0o755 });
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn('sh', ['-c', file], {
      cwd: instance.dir,
      env: { ...process.env, ...instance.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

export interface SimulatedPull {
  /** The image's index in the `images` input. */
  index: number;
  platform: string;
  ms: number;
  digest: string;
  size: string;
  /** Already on the base volume. */
  reused?: boolean;
}

/** What the instance script prints when every pull succeeded (see parseScriptReport). */
export function successfulPullReport(pulls: SimulatedPull[]): string {
  const lines = pulls.map((p) =>
    [
      REPORT_PREFIX,
      'pull',
      p.index,
      p.platform,
      'ok',
      p.ms,
      p.digest,
      p.size,
      p.reused ? 1 : 0,
      '',
    ].join('\t'),
  );
  return `${lines.join('\n')}\n${REPORT_PREFIX}\tend\t${pulls.length}\t0\t0\n`;
}
