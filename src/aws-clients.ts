/**
 * The AWS SDK clients the action uses, built one way for the main and post
 * steps. Endpoints follow the SDK's standard configuration (AWS_ENDPOINT_URL,
 * AWS_ENDPOINT_URL_<SERVICE>, profiles), so nothing here knows about emulators.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

export interface AwsClients {
  ec2: EC2Client;
  ssm: SSMClient;
  sts: STSClient;
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
  const common = {
    region,
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard',
    customUserAgent: [USER_AGENT],
    ...(credentials ? { credentials } : {}),
  };
  return {
    ec2: new EC2Client(common),
    ssm: new SSMClient(common),
    sts: new STSClient(common),
  };
}

/** The client for AssumeRoleWithWebIdentity: that call is unsigned and needs no credentials. */
export function createFederationStsClient(region: string): STSClient {
  return new STSClient({
    region,
    maxAttempts: MAX_ATTEMPTS,
    customUserAgent: [USER_AGENT],
  });
}

export function destroyClients(clients: AwsClients): void {
  clients.ec2.destroy();
  clients.ssm.destroy();
  clients.sts.destroy();
}
