/**
 * A real containerd daemon for tests (Debian's `containerd` package: /usr/bin/containerd and the
 * real /usr/bin/ctr), started as root with its own root, state and socket under a temp directory,
 * never the system's. Its CRI plugin is off (no kubelet here): images are pulled with ctr into the
 * k8s.io namespace exactly as on a Bottlerocket builder, and read back the same way.
 *
 * A second daemon started on a copy of the first one's root is a node booting from the snapshot.
 *
 * Test support only: never bundled into the action.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findComponent, unavailable, which } from './components.js';
import { startService } from './service-process.js';

const found = findComponent('containerd');
export const CONTAINERD_BINARY = found?.command ?? '/usr/bin/containerd';
export const CTR_BINARY = which('ctr') ?? '/usr/bin/ctr';
/** The shim that points the host's ctr socket at a test daemon (test-support/instance-real/ctr). */
export const REAL_CTR_SHIM_DIR = resolve(dirname(fileURLToPath(import.meta.url)), 'instance-real');

export interface TestContainerd {
  /** The daemon's root: on a builder, /local/var/lib/containerd of the data volume. */
  root: string;
  socket: string;
  /** Runs the real ctr against this daemon (namespace k8s.io unless args say otherwise). */
  ctr(args: string[]): Promise<string>;
  logs(): string;
  stop(): Promise<void>;
}

/** Runs a command, bounded to 60 s; rejects with its combined output on a non-zero exit. */
export function run(command: string, args: string[], timeout = 60_000): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(command, args, { timeout, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolvePromise(stdout);
    });
  });
}

/**
 * Starts containerd with `root` as its root (created if absent) and its state and socket in
 * `dir`. Only the overlayfs and native snapshotters matter here.
 */
export async function startContainerd(dir: string, root: string): Promise<TestContainerd> {
  const why = unavailable('containerd');
  if (why) throw new Error(why);
  await mkdir(dir, { recursive: true });
  await mkdir(root, { recursive: true });
  const socket = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  await writeFile(
    config,
    [
      'version = 2',
      `root = ${JSON.stringify(root)}`,
      `state = ${JSON.stringify(join(dir, 'state'))}`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = ${JSON.stringify(socket)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${socket}.ttrpc`)}`,
      '',
    ].join('\n'),
  );
  const ctr = (args: string[]): Promise<string> =>
    run(CTR_BINARY, ['-a', socket, ...(args[0] === '-n' ? [] : ['-n', 'k8s.io']), ...args]);
  const service = await startService({
    name: 'containerd',
    command: CONTAINERD_BINARY,
    args: ['--config', config],
    readyUrl: socket,
    ready: () => false,
    probe: async () =>
      run(CTR_BINARY, ['-a', socket, 'version'], 5000).then(
        () => true as const,
        (e: Error) => e.message,
      ),
    startTimeoutMs: 20_000,
  });
  return { root, socket, ctr, logs: service.output, stop: service.stop };
}

/**
 * The environment for the shims (test-support/instance/apiclient and instance-real/ctr) that
 * makes a script's host a builder whose data volume is `hostRoot` and whose containerd is `c`.
 */
export function builderHostEnv(c: TestContainerd, hostRoot: string): Record<string, string> {
  return { BES_CONTAINERD_SOCKET: c.socket, BES_HOST_ROOT: hostRoot, BES_REAL_CTR: CTR_BINARY };
}

export interface ListedImage {
  name: string;
  digest: string;
  platforms: string[];
  labels: Record<string, string>;
}

/** `ctr images ls` as records, found by column position in the header ctr prints. */
export function parseImageList(text: string): ListedImage[] {
  const lines = text.split('\n');
  const header = lines.findIndex((l) => /^REF\s+TYPE\s+DIGEST\s+SIZE\s+PLATFORMS\s+LABELS/.test(l));
  if (header < 0) return [];
  return lines
    .slice(header + 1)
    .filter((l) => l.trim() !== '')
    .map((l) => {
      // REF TYPE DIGEST SIZE(two words) PLATFORMS LABELS
      const [name = '', , digest = '', , , platforms = '-', labels = '-'] = l.trim().split(/\s+/);
      return {
        name,
        digest,
        platforms: platforms === '-' ? [] : platforms.split(','),
        labels: Object.fromEntries(
          labels === '-' ? [] : labels.split(',').map((kv) => kv.split('=', 2) as [string, string]),
        ),
      };
    });
}
