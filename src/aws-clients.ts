/**
 * The AWS SDK clients the action uses, built one way for the main and post
 * steps. Endpoints follow the SDK's standard configuration (AWS_ENDPOINT_URL,
 * AWS_ENDPOINT_URL_<SERVICE>, profiles), so nothing here knows about emulators.
 * Behind an HTTP(S) proxy (HTTPS_PROXY / HTTP_PROXY / NO_PROXY), every client's
 * requests go through it (src/proxy.ts).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECRClient } from '@aws-sdk/client-ecr';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { proxyRequestHandler } from './proxy.js';

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
 * Throttling and transient errors are retried by the SDK's standard retry
 * strategy (exponential backoff with jitter); other errors are not.
 */
const MAX_ATTEMPTS = 8;

export function createAwsClients(
  region: string,
  credentials?: AwsCredentialIdentityProvider,
): AwsClients {
  const requestHandler = proxyRequestHandler();
  const config = (r: string) => ({
    region: r,
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard',
    customUserAgent: [USER_AGENT],
    ...(credentials ? { credentials } : {}),
    ...(requestHandler ? { requestHandler } : {}),
  });
  const created: Array<{ destroy(): void }> = [];
  /** One client per region, made on first use; `home` serves the action's own region. */
  const perRegion = <T extends { destroy(): void }>(make: (r: string) => T, home?: T) => {
    const clients = new Map<string, T>(home ? [[region, home]] : []);
    return (r: string): T => {
      let client = clients.get(r);
      if (!client) {
        client = make(r);
        clients.set(r, client);
        created.push(client);
      }
      return client;
    };
  };
  const ec2 = new EC2Client(config(region));
  const ssm = new SSMClient(config(region));
  const sts = new STSClient(config(region));
  created.push(ec2, ssm, sts);
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

/** The client for AssumeRoleWithWebIdentity: that call is unsigned and needs no credentials. */
export function createFederationStsClient(region: string): STSClient {
  const requestHandler = proxyRequestHandler();
  return new STSClient({
    region,
    maxAttempts: MAX_ATTEMPTS,
    customUserAgent: [USER_AGENT],
    ...(requestHandler ? { requestHandler } : {}),
  });
}
