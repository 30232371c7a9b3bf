/**
 * Runs the bundled action the way the GitHub runner does: `node dist/index.js`
 * with INPUT_* variables (action.yml defaults filled in), GITHUB_OUTPUT,
 * GITHUB_STATE and GITHUB_STEP_SUMMARY files, then the post step with the
 * saved state as STATE_* variables.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE = join(REPO_ROOT, 'dist', 'index.js');

interface ActionYaml {
  inputs: Record<string, { default?: string }>;
}

export function actionDefaults(): Record<string, string> {
  const action = parse(readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8')) as ActionYaml;
  const defaults: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs)) {
    // Expressions like ${{ github.token }} are the runner's to evaluate; tests pass such inputs themselves.
    if (spec.default !== undefined && !String(spec.default).includes('${{'))
      defaults[name] = String(spec.default);
  }
  return defaults;
}

/** Parses the runner's file-command format: `name<<DELIM\nvalue\nDELIM` or `name=value`. */
export function parseFileCommands(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '');
      values[name ?? ''] = value.join('\n');
    } else if (line.includes('=')) {
      values[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return values;
}

export interface StepResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
  ms: number;
}

export interface RunOptions {
  inputs: Record<string, string>;
  env?: Record<string, string>;
  /** Node binary; the one running the tests by default. */
  node?: string;
  /** State from the main step, for the post step. */
  state?: Record<string, string>;
  timeoutMs?: number;
  /** Sends SIGINT when this returns true for a line of stdout (a cancelled job), then SIGTERM 7.5 s later as the runner does. */
  cancelWhen?: (line: string) => boolean;
  /** Called with each line of stdout as it arrives (for timing phases). */
  onLine?: (line: string, at: number) => void;
  /** Called with the step's process once started (to signal it from a test's fault hook). */
  onSpawn?: (child: ChildProcess) => void;
}

export async function runStep(options: RunOptions): Promise<StepResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bes-runner-'));
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const inputs = { ...actionDefaults(), ...options.inputs };
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    RUNNER_TEMP: dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'acme/platform',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_SHA: 'a'.repeat(40),
    GITHUB_WORKSPACE: dir,
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
    ...files,
    ...options.env,
  };
  for (const [name, value] of Object.entries(inputs))
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  for (const [name, value] of Object.entries(options.state ?? {})) env[`STATE_${name}`] = value;

  const started = Date.now();
  try {
    const result = await new Promise<{
      code: number | null;
      signal: NodeJS.Signals | null;
      stdout: string;
      stderr: string;
    }>((resolvePromise, reject) => {
      const child = spawn(options.node ?? process.execPath, [BUNDLE], {
        env,
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      options.onSpawn?.(child);
      let stdout = '';
      let stderr = '';
      let cancelled = false;
      // onLine gets whole lines: a line split across two chunks of the pipe is joined first.
      let partial = '';
      const timers: NodeJS.Timeout[] = [];
      child.stdout.on('data', (d: Buffer) => {
        const text = d.toString();
        stdout += text;
        if (options.onLine) {
          const at = Date.now();
          const lines = (partial + text).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) if (line) options.onLine(line, at);
        }
        if (!cancelled && options.cancelWhen && text.split('\n').some(options.cancelWhen)) {
          cancelled = true;
          child.kill('SIGINT');
          timers.push(setTimeout(() => child.kill('SIGTERM'), 7500));
          timers.push(setTimeout(() => child.kill('SIGKILL'), 15000));
        }
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      timers.push(setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000));
      child.on('error', reject);
      child.on('close', (code, signal) => {
        timers.forEach(clearTimeout);
        if (partial && options.onLine) options.onLine(partial, Date.now());
        resolvePromise({ code, signal, stdout, stderr });
      });
    });
    return {
      ...result,
      outputs: parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
      state: parseFileCommands(readFileSync(files.GITHUB_STATE, 'utf8')),
      summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
      ms: Date.now() - started,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Main step, then post step with main's state, as a job runs them. */
export async function runMainAndPost(
  options: RunOptions,
): Promise<{ main: StepResult; post: StepResult }> {
  const main = await runStep(options);
  // The post step is not cancelled, and nothing watches its process.
  const postOptions: RunOptions = { ...options, state: main.state };
  delete postOptions.cancelWhen;
  delete postOptions.onSpawn;
  const post = await runStep(postOptions);
  return { main, post };
}
