/** The SSM parameter that names the region's snapshot, for Terraform and CloudFormation. */
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { ActionError } from '../core/errors.js';
import { awsErrorName, describeAwsError, rethrowIfAborted } from '../aws/errors.js';
import { INPUT } from './config.js';
import type { Run } from './context.js';

export async function publish(
  run: Run,
  region: string,
  snapshotId: string,
): Promise<number | undefined> {
  const { deps } = run;
  const name = run.config.ssmParameterName ?? '';
  const ssm = deps.ssmFor(region);
  const description =
    `EBS snapshot of a Bottlerocket data volume with pre-pulled images, from bottlerocket-ebs-snapshot` +
    `${run.repository ? ` (${run.repository})` : ''}` +
    `${region === run.sourceRegion ? '' : `; copy of ${run.snapshotId} in ${run.sourceRegion}`}.`;
  try {
    const out = await ssm.send(
      new PutParameterCommand({
        Name: name,
        Value: snapshotId,
        Type: 'String',
        Overwrite: true,
        Description: description.slice(0, 1024),
      }),
      { abortSignal: run.deps.signal },
    );
    deps.logger.info(
      `SSM parameter ${name} in ${region} = ${snapshotId}${out.Version !== undefined ? ` (version ${out.Version})` : ''}.`,
    );
    return out.Version;
  } catch (error) {
    rethrowIfAborted(error, deps.signal);
    const what = `Writing SSM parameter ${name} in ${region} failed (${describeAwsError(error)}).`;
    const errName = awsErrorName(error) ?? '';
    let hint = '';
    if (errName === 'AccessDeniedException' || errName === 'AccessDenied') {
      hint = ` The role needs ssm:PutParameter on arn:aws:ssm:${region}:<account>:parameter${name.startsWith('/') ? '' : '/'}${name}.`;
    } else if (errName === 'ParameterLimitExceeded') {
      hint = ` The account has as many parameters in ${region} as SSM allows; delete unused ones.`;
    } else if (errName === 'ParameterMaxVersionLimitExceeded') {
      hint = ` The parameter has 100 versions and the oldest has a label; remove the label so SSM can drop that version.`;
    } else if (
      errName === 'HierarchyLevelLimitExceededException' ||
      errName === 'ValidationException'
    ) {
      hint = ` Choose another ${INPUT.ssmParameterName}.`;
    } else if (errName === 'UnsupportedParameterType' || errName === 'ParameterAlreadyExists') {
      hint = ` A parameter of that name exists with a type that cannot be overwritten; choose another ${INPUT.ssmParameterName}.`;
    }
    throw new ActionError(`${what}${hint}`, { cause: error });
  }
}
