/**
 * The AWS SDK clients the action uses, built one way for the main and post
 * steps. Endpoints follow the SDK's standard configuration (AWS_ENDPOINT_URL,
 * AWS_ENDPOINT_URL_<SERVICE>, profiles), so nothing here knows about emulators.
 * Behind an HTTP(S) proxy (HTTPS_PROXY / HTTP_PROXY / NO_PROXY), every client's
 * requests go through it (src/core/proxy.ts).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECRClient } from '@aws-sdk/client-ecr';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import type {
  AwsCredentialIdentityProvider,
  InitializeHandlerOptions,
  InitializeMiddleware,
  MetadataBearer,
} from '@smithy/types';
import { isOwnError } from '../core/errors.js';
import { recordAwsCall } from './errors.js';
import { proxyRequestHandler } from '../core/proxy.js';

export interface AwsClients {
  ec2: EC2Client;
  ssm: SSMClient;
  sts: STSClient;
  /** ECR clients by region, for resolving private image digests from the runner. */
  ecrFor(region: string): ECRClient;
  /** EC2 clients of other regions (snapshot copies), with the same credentials. */
  ec2For(region: string): EC2Client;
  /** SSM clients by region (parameters). */
  ssmFor(region: string): SSMClient;
  /** Closes every client made, in every region. */
  destroy(): void;
}

export const USER_AGENT: [string, string] = ['bottlerocket-ebs-snapshot', '1'];

/**
 * Throttling and transient errors (network faults, timeouts, 5xx) are retried by the SDK's
 * standard retry strategy, other errors are not; the backoff is longer than the SDK's default
 * (which gives up within about three seconds) so that a network outage of several seconds costs
 * seconds, not the build: 0.5, 1, 2, 4, 8, 16 and 20 s, with jitter, about 50 s at most.
 */
const MAX_ATTEMPTS = 8;
export const retryDelayMs = (attempt: number): number =>
  Math.round(Math.min(20_000, 250 * 2 ** attempt) * (0.75 + Math.random() / 4));

export function createAwsClients(
  region: string,
  credentials?: AwsCredentialIdentityProvider,
): AwsClients {
  const requestHandler = proxyRequestHandler();
  const config = (r: string) => ({
    region: r,
    retryStrategy: new ConfiguredRetryStrategy(MAX_ATTEMPTS, retryDelayMs),
    customUserAgent: [USER_AGENT],
    ...(credentials ? { credentials } : {}),
    ...(requestHandler ? { requestHandler } : {}),
  });
  const created: Array<{ destroy(): void }> = [];
  /** Every client made gets the call-recording middleware and is closed by destroy(). */
  const track = <T extends EC2Client | SSMClient | STSClient | ECRClient>(client: T): T => {
    (
      client.middlewareStack as { add(m: typeof recordTheCall, o: InitializeHandlerOptions): void }
    ).add(recordTheCall, RECORD_THE_CALL);
    created.push(client);
    return client;
  };
  /** One client per region, made on first use; `home` serves the action's own region. */
  const perRegion = <T extends EC2Client | SSMClient | STSClient | ECRClient>(
    make: (r: string) => T,
    home?: T,
  ) => {
    const clients = new Map<string, T>(home ? [[region, home]] : []);
    return (r: string): T => {
      let client = clients.get(r);
      if (!client) {
        client = track(make(r));
        clients.set(r, client);
      }
      return client;
    };
  };
  const ec2 = track(new EC2Client(config(region)));
  const ssm = track(new SSMClient(config(region)));
  const sts = track(new STSClient(config(region)));
  return {
    ec2,
    ssm,
    sts,
    ecrFor: perRegion((r) => new ECRClient(config(r))),
    ec2For: perRegion((r) => new EC2Client(config(r)), ec2),
    ssmFor: perRegion((r) => new SSMClient(config(r)), ssm),
    destroy: () => created.forEach((c) => c.destroy()),
  };
}

/** The first ID, ARN or name a request carries, for saying what a failed call was about. */
export function resourceOf(input: unknown): string | undefined {
  if (!input || typeof input !== 'object') return undefined;
  for (const [key, value] of Object.entries(input)) {
    if (!/(Id|Ids|Arn|^Name)$/.test(key)) continue;
    const first: unknown = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string' && first !== '') return first;
  }
  return undefined;
}

/**
 * Wraps every call of a client: an error it ends with (after the SDK's retries) records which
 * call and resource it came from, so a bare "socket hang up" can be reported as
 * "DescribeSnapshots of snap-0abc failed: socket hang up" (errors.ts describeFailure).
 */
const recordTheCall: InitializeMiddleware<object, MetadataBearer> =
  (next, context) => async (args) => {
    try {
      return await next(args);
    } catch (error) {
      // An abort rejects with the signal's reason, the action's own error: not the call's.
      if (isOwnError(error)) throw error;
      const resource = resourceOf(args.input);
      recordAwsCall(error, {
        operation: (context.commandName ?? 'AWS call').replace(/Command$/, ''),
        ...(resource !== undefined ? { resource } : {}),
      });
      throw error;
    }
  };
const RECORD_THE_CALL: InitializeHandlerOptions = {
  step: 'initialize',
  name: 'bottlerocketEbsSnapshotRecordTheCall',
};

/** The client for AssumeRoleWithWebIdentity: that call is unsigned and needs no credentials. */
export function createFederationStsClient(region: string): STSClient {
  const requestHandler = proxyRequestHandler();
  const client = new STSClient({
    region,
    retryStrategy: new ConfiguredRetryStrategy(MAX_ATTEMPTS, retryDelayMs),
    customUserAgent: [USER_AGENT],
    ...(requestHandler ? { requestHandler } : {}),
  });
  client.middlewareStack.add(recordTheCall, RECORD_THE_CALL);
  return client;
}
