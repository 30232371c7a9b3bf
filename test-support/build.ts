/**
 * What the build's unit tests (__tests__/unit/build/) share: two images in a stub registry, a
 * run context, a BuildConfig from action inputs, BuildDeps on a virtual clock with the state
 * kept in a map, the digests a registry would resolve, and the SSM command's deps.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { parseInputs } from '../src/action/inputs/index.js';
import type { BuildDeps } from '../src/build/index.js';
import type { ResolveResult } from '../src/cache/registry/index.js';
import type { RunContext } from '../src/config/run-context.js';
import type { BuildConfig } from '../src/config/types.js';
import type { SsmDeps } from '../src/build/ssm-command.js';
import type { MockedAws } from './aws-mocks.js';
import type { StubImage } from './instance-sim.js';
import { MemoryLogger } from './memory-logger.js';
import { VirtualClock } from './virtual-clock.js';

export const PAUSE = 'public.ecr.aws/eks-distro/kubernetes/pause:3.2';
export const APP = '123456789012.dkr.ecr.us-west-2.amazonaws.com/app:abc123';
export const REGISTRY: StubImage[] = [
  { ref: PAUSE, platforms: ['linux/amd64', 'linux/arm64'], size: '301.6 KiB' },
  { ref: APP, platforms: ['linux/amd64', 'linux/arm64'], auth: 'ecr', size: '1.2 GiB' },
];

export const context: RunContext = {
  repository: 'acme/platform',
  runId: '4242',
  runAttempt: '1',
  serverUrl: 'https://github.com',
  oidcAvailable: true,
};

export function config(inputs: Record<string, string> = {}): BuildConfig {
  const all: Record<string, string> = {
    images: `${APP}\n${PAUSE}`,
    platforms: 'linux/amd64,linux/arm64',
    'aws-region': 'us-west-2',
    'instance-profile': 'snapshot-builder-instance',
    // The pull script runs here in real time while the build's clock is virtual: a checkpoint
    // chain would race ahead of it. Checkpoints have their own tests with pulls in virtual time.
    'checkpoint-snapshots': 'false',
    ...inputs,
  };
  return parseInputs((name) => all[name] ?? '').config;
}

export function deps(mocked: MockedAws, extra: Partial<BuildDeps> = {}) {
  const state = new Map<string, string>();
  const logger = new MemoryLogger();
  const clock = new VirtualClock();
  const d: BuildDeps = {
    clients: mocked.clients,
    clock,
    logger,
    signal: new AbortController().signal,
    context,
    state: { save: (k, v) => state.set(k, v) },
    ...extra,
  };
  return { d, state, logger, clock };
}

export const digestOf = (n: string) => `sha256:${n.repeat(64)}`;

/** What the registries say of `c`'s images: every platform, but `missing` ("ref platform"). */
export const resolved = (c: BuildConfig, missing?: string): ResolveResult => ({
  resolved: c.images.map((image, i) => ({
    image,
    digest: digestOf(String(i + 1)),
    mediaType: 'application/vnd.oci.image.index.v1+json',
    platforms: c.platforms.map((platform) => ({
      platform,
      digest:
        missing === `${image.normalized} ${platform}`
          ? null
          : digestOf(`${i + 1}${platform.length}`[1] ?? 'f'),
    })),
  })),
  failures: [],
});

/** SsmDeps for the SSM command's tests: real clients (mocked with aws-sdk-client-mock), virtual time. */
export function ssmDeps(): SsmDeps & { clock: VirtualClock; logger: MemoryLogger } {
  return {
    ssm: new SSMClient({ region: 'us-west-2' }),
    ec2: new EC2Client({ region: 'us-west-2' }),
    clock: new VirtualClock(),
    logger: new MemoryLogger(),
    signal: new AbortController().signal,
  };
}
