/**
 * An ActionRuntime (src/action/runtime.ts) held in memory, for running the main and post steps
 * in process: inputs in; outputs, state, job summary, masked values and failures kept for the
 * test to read. The post step's runtime (`post()`) gets the same inputs and environment and
 * the state the main step saved, as the runner hands them over. Nothing reaches AWS, a
 * registry or GitHub unless the test hands in clients, a fetch or an Octokit.
 */
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { ActionRuntime } from '../src/action/runtime.js';
import type { AwsClients } from '../src/aws/clients.js';
import type { Octokit } from '../src/cluster-update/pull-request/index.js';
import type { Clock } from '../src/core/clock.js';
import { MemoryLogger } from './memory-logger.js';
import { VirtualClock } from './virtual-clock.js';

export interface MemoryRuntimeOptions {
  /** Raw inputs by name (unset ones read as ''). */
  inputs?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
  /** State saved by an earlier step. */
  state?: ReadonlyMap<string, string>;
  /** The AWS clients every createClients call returns (typically aws-sdk-client-mock'ed). */
  clients?: AwsClients;
  fetch?: typeof fetch;
  createOctokit?: (token: string) => Octokit;
  clock?: Clock;
  signal?: AbortSignal;
}

/** The runner's environment for a run of acme/platform. */
export const RUN_ENV: Readonly<NodeJS.ProcessEnv> = {
  GITHUB_REPOSITORY: 'acme/platform',
  GITHUB_RUN_ID: '4242',
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_SERVER_URL: 'https://github.com',
};

const unreachable = (what: string) => () => {
  throw new Error(`this test gave the runtime no ${what}`);
};

export class MemoryRuntime implements ActionRuntime {
  readonly inputs: Record<string, string>;
  readonly outputs = new Map<string, string>();
  readonly state: Map<string, string>;
  /** Every markdown writeSummary appended, in order. */
  readonly summaries: string[] = [];
  readonly masked: string[] = [];
  /** Every setFailed message, in order. */
  readonly failures: string[] = [];
  /** The regions createClients was asked for, with whether credentials were given. */
  readonly clientRequests: Array<{ region: string; credentials: boolean }> = [];
  readonly logger = new MemoryLogger();
  readonly clock: Clock;
  readonly signal: AbortSignal;
  readonly env: NodeJS.ProcessEnv;
  readonly fetch: typeof fetch;
  private readonly options: MemoryRuntimeOptions;

  constructor(options: MemoryRuntimeOptions = {}) {
    this.options = options;
    this.inputs = { ...options.inputs };
    this.state = new Map(options.state);
    this.env = { ...(options.env ?? RUN_ENV) };
    this.clock = options.clock ?? new VirtualClock();
    this.signal = options.signal ?? new AbortController().signal;
    this.fetch = options.fetch ?? (unreachable('fetch') as typeof fetch);
  }

  getInput(name: string): string {
    return this.inputs[name] ?? '';
  }
  setOutput(name: string, value: string): void {
    this.outputs.set(name, value);
  }
  saveState(key: string, value: string): void {
    this.state.set(key, value);
  }
  getState(key: string): string {
    return this.state.get(key) ?? '';
  }
  async writeSummary(markdown: string): Promise<void> {
    this.summaries.push(markdown);
  }
  getIdToken(): Promise<string> {
    return Promise.reject(new Error('no OIDC token in memory'));
  }
  maskSecret(value: string): void {
    this.masked.push(value);
  }
  setFailed(message: string): void {
    this.failures.push(message);
  }
  createClients(region: string, credentials?: AwsCredentialIdentityProvider): AwsClients {
    this.clientRequests.push({ region, credentials: credentials !== undefined });
    if (!this.options.clients) return unreachable('AWS clients')();
    return this.options.clients;
  }
  createOctokit(token: string): Octokit {
    if (!this.options.createOctokit) return unreachable('Octokit')();
    return this.options.createOctokit(token);
  }

  /** The job summary as the runner would show it. */
  summary(): string {
    return this.summaries.join('');
  }

  /** The post step's runtime: same inputs, environment, clients and clock; this step's state. */
  post(overrides: MemoryRuntimeOptions = {}): MemoryRuntime {
    return new MemoryRuntime({
      ...this.options,
      inputs: this.inputs,
      env: this.env,
      state: this.state,
      clock: this.clock,
      ...overrides,
    });
  }
}
