/** The inputs every mode needs: the region, and the role to assume there (OIDC). */
import { InputError } from '../../core/errors.js';
import type { CredentialsConfig } from '../../config/types.js';
import { optional, optionalInteger, REGION, required, type InputReader } from './read.js';
import type { AwsInputs } from './types.js';

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/** The inputs every mode needs: where, and as whom. */
export function parseAwsInputs(get: InputReader): AwsInputs {
  const region = required(get, 'aws-region');
  if (!REGION.test(region))
    throw new InputError('aws-region', `'${region}' is not an AWS region name like us-west-2.`);

  const roleToAssume = optional(get, 'role-to-assume');
  if (roleToAssume !== undefined && !ROLE_ARN.test(roleToAssume)) {
    throw new InputError(
      'role-to-assume',
      `'${roleToAssume}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>).`,
    );
  }
  const roleSessionName = optional(get, 'role-session-name') ?? 'bottlerocket-ebs-snapshot';
  if (!SESSION_NAME.test(roleSessionName)) {
    throw new InputError(
      'role-session-name',
      `'${roleSessionName}' must be 2-64 characters of letters, digits and +=,.@_-.`,
    );
  }
  const roleDurationSeconds = optionalInteger(get, 'role-duration-seconds', 900, 43200) ?? 3600;
  const audience = optional(get, 'audience') ?? 'sts.amazonaws.com';
  const credentials: CredentialsConfig = { roleSessionName, roleDurationSeconds, audience };
  if (roleToAssume !== undefined) credentials.roleToAssume = roleToAssume;
  return { region, credentials };
}
