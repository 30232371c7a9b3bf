/**
 * The real components the demo, the tests and the benchmarks run against, found (or installed)
 * one way for every entry point, each saying how it was had:
 *
 * - moto (the AWS emulator, Python): `moto_server` on PATH; else `python3 -m moto.server` when
 *   the module imports; else a project-local virtual environment (.tmp/venv) with a pinned
 *   moto[server] 5.x, made once with `python3 -m venv` and pip, then reused.
 * - docker-registry, openssl, containerd (with ctr), shellcheck: on PATH; else, as root on Debian
 *   or Ubuntu, installed with apt-get.
 *
 * When a component cannot be had, the message says what to install and how. `find` only looks;
 * `provide` may install, so only entry points (scripts/test.ts, the demo) call it, never a test
 * worker.
 *
 * Test support only: never bundled into the action.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ComponentName = 'moto' | 'docker-registry' | 'openssl' | 'containerd' | 'shellcheck';
export const COMPONENTS: readonly ComponentName[] = [
  'moto',
  'docker-registry',
  'openssl',
  'containerd',
  'shellcheck',
];

/** How to run a component that was found. */
export interface Found {
  name: ComponentName;
  command: string;
  args: string[];
  /** e.g. "moto_server on PATH", "python3 -m moto.server", "installed with apt-get". */
  how: string;
}

export interface ComponentOptions {
  /** Where PATH and the rest come from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The project's own directory for .tmp/venv (default the repository root). */
  root?: string;
  /** Bound on every install command, ms (default 300 s). */
  timeoutMs?: number;
}

/** The moto the virtual environment gets: the 5.x this project is tested with. */
export const MOTO_REQUIREMENT = 'moto[server]==5.2.1';
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEBIAN_PACKAGES: Record<Exclude<ComponentName, 'moto'>, string> = {
  'docker-registry': 'docker-registry',
  openssl: 'openssl',
  containerd: 'containerd',
  shellcheck: 'shellcheck',
};
/** The executables each component must have, all of them. */
const EXECUTABLES: Record<Exclude<ComponentName, 'moto'>, string[]> = {
  'docker-registry': ['docker-registry'],
  openssl: ['openssl'],
  containerd: ['containerd', 'ctr'],
  shellcheck: ['shellcheck'],
};

export class ComponentMissing extends Error {
  override name = 'ComponentMissing';
  constructor(
    readonly component: ComponentName,
    message: string,
  ) {
    super(message);
  }
}

/** An executable on PATH, as the shell would find it, or undefined. */
export function which(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, command);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

function run(command: string, args: string[], options: ComponentOptions, timeoutMs?: number) {
  return spawnSync(command, args, {
    env: options.env ?? process.env,
    encoding: 'utf8',
    timeout: timeoutMs ?? options.timeoutMs ?? 300_000,
  });
}

function venvDir(options: ComponentOptions): string {
  return join(options.root ?? REPO_ROOT, '.tmp', 'venv');
}

/** Looks for a component without installing anything. */
export function findComponent(
  name: ComponentName,
  options: ComponentOptions = {},
): Found | undefined {
  const env = options.env ?? process.env;
  if (name !== 'moto') {
    const paths = EXECUTABLES[name].map((e) => which(e, env));
    const [first] = paths;
    if (first === undefined || paths.some((p) => p === undefined)) return undefined;
    return { name, command: first, args: [], how: `${EXECUTABLES[name].join(' and ')} on PATH` };
  }
  const server = which('moto_server', env);
  if (server) return { name, command: server, args: [], how: 'moto_server on PATH' };
  const python = which('python3', env);
  if (python && run(python, ['-c', 'import moto.server'], options, 30_000).status === 0) {
    return { name, command: python, args: ['-m', 'moto.server'], how: 'python3 -m moto.server' };
  }
  const venvServer = join(venvDir(options), 'bin', 'moto_server');
  if (existsSync(venvServer)) {
    return { name, command: venvServer, args: [], how: `moto_server from ${venvDir(options)}` };
  }
  return undefined;
}

/** Finds a component, installing it when this machine allows; throws ComponentMissing if not. */
export function provideComponent(name: ComponentName, options: ComponentOptions = {}): Found {
  const found = findComponent(name, options);
  if (found) return found;
  if (name === 'moto') return installMoto(options);
  installDebianPackage(name, options);
  const installed = findComponent(name, options);
  if (!installed) {
    throw new ComponentMissing(
      name,
      `${name}: apt-get installed ${DEBIAN_PACKAGES[name]} but ${EXECUTABLES[name].join(', ')} is still not on PATH`,
    );
  }
  return { ...installed, how: `installed with apt-get (${DEBIAN_PACKAGES[name]})` };
}

function installMoto(options: ComponentOptions): Found {
  const python = which('python3', options.env);
  const howTo = `install it with 'pipx install "${MOTO_REQUIREMENT}"' (or pip), so that moto_server is on PATH`;
  if (!python) {
    throw new ComponentMissing(
      'moto',
      `moto (the AWS emulator) is missing and there is no python3 to install it: install Python 3, then ${howTo}.`,
    );
  }
  const dir = venvDir(options);
  const venv = run(python, ['-m', 'venv', dir], options, 120_000);
  if (venv.status !== 0) {
    throw new ComponentMissing(
      'moto',
      `moto is missing, and 'python3 -m venv' failed (${oneLine(venv.stderr)}): on Debian or Ubuntu 'apt-get install python3-venv', or ${howTo}.`,
    );
  }
  const pip = run(
    join(dir, 'bin', 'pip'),
    [
      'install',
      '--disable-pip-version-check',
      '--retries',
      '0',
      '--timeout',
      '10',
      MOTO_REQUIREMENT,
    ],
    options,
  );
  if (pip.status !== 0) {
    throw new ComponentMissing(
      'moto',
      `moto is missing, and pip could not install ${MOTO_REQUIREMENT} into ${dir} (${oneLine(pip.stderr)}): ${howTo}.`,
    );
  }
  return {
    name: 'moto',
    command: join(dir, 'bin', 'moto_server'),
    args: [],
    how: `installed ${MOTO_REQUIREMENT} into ${dir}`,
  };
}

function isDebian(): boolean {
  try {
    return /^ID(_LIKE)?=.*\b(debian|ubuntu)\b/m.test(readFileSync('/etc/os-release', 'utf8'));
  } catch {
    return false;
  }
}

function installDebianPackage(
  name: Exclude<ComponentName, 'moto'>,
  options: ComponentOptions,
): void {
  const pkg = DEBIAN_PACKAGES[name];
  if (process.getuid?.() !== 0 || !isDebian()) {
    throw new ComponentMissing(
      name,
      `${name} is missing: install it (Debian or Ubuntu: 'sudo apt-get install -y ${pkg}'); run as root, this is done for you.`,
    );
  }
  const env = { ...(options.env ?? process.env), DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]) => run('apt-get', args, { ...options, env });
  let result = apt(['install', '-y', '-qq', '--no-install-recommends', pkg]);
  if (result.status !== 0) {
    apt(['update', '-qq']);
    result = apt(['install', '-y', '-qq', '--no-install-recommends', pkg]);
  }
  if (result.status !== 0) {
    throw new ComponentMissing(
      name,
      `${name} is missing and 'apt-get install ${pkg}' failed: ${oneLine(result.stderr)}`,
    );
  }
}

function oneLine(text: string | null | undefined): string {
  const lines = (text ?? '')
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '');
  return (lines.at(-1) ?? 'no message').slice(0, 300);
}

/** The environment variable through which an entry point tells test workers how to run moto. */
export const MOTO_ENV = 'BES_MOTO_COMMAND';

/**
 * How to run moto: as the entry point provided it (MOTO_ENV, so test workers never install),
 * else provided now (the demo, the benchmarks).
 */
export function motoCommand(env: NodeJS.ProcessEnv = process.env): Found {
  const given = env[MOTO_ENV];
  if (given) return JSON.parse(given) as Found;
  return provideComponent('moto', { env });
}

/** Why a component cannot be used by a test here, or undefined when it can. */
export function unavailable(
  name: ComponentName,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (name === 'containerd' && process.getuid?.() !== 0) {
    return 'containerd: a daemon of its own needs root';
  }
  if (name === 'moto') {
    return env[MOTO_ENV] || findComponent('moto', { env }) ? undefined : 'moto is not installed';
  }
  return findComponent(name, { env })
    ? undefined
    : `${name} is not installed (Debian: apt-get install ${DEBIAN_PACKAGES[name]})`;
}

/** Every component, provided (installed where this machine allows); what could not be had, why. */
export function provideAll(options: ComponentOptions = {}): { found: Found[]; missing: string[] } {
  const found: Found[] = [];
  const missing: string[] = [];
  for (const name of COMPONENTS) {
    try {
      found.push(provideComponent(name, options));
    } catch (error) {
      if (!(error instanceof ComponentMissing)) throw error;
      missing.push(error.message);
    }
  }
  const root = unavailable('containerd', options.env);
  if (root && found.some((f) => f.name === 'containerd')) missing.push(root);
  return { found, missing };
}

/** One line: what was found and how. */
export function describeFound(found: readonly Found[]): string {
  return `Components: ${found.map((f) => `${f.name} (${f.how})`).join(', ')}`;
}
