/** Sharing a snapshot (the source or a copy) with other accounts: createVolumePermission. */
import { ModifySnapshotAttributeCommand, type EC2Client, type Snapshot } from '@aws-sdk/client-ec2';
import { ActionError, errorMessage } from '../core/errors.js';
import { awsErrorName, describeAwsError, rethrowIfAborted } from '../aws/errors.js';
import { INPUT } from './config.js';
import type { Run } from './context.js';
import { SHARE_FIX, copyKeyFix } from './share-check.js';

export async function share(
  run: Run,
  region: string,
  snapshot: Snapshot,
  ec2: EC2Client,
): Promise<void> {
  const { deps } = run;
  const accounts = run.config.shareWithAccounts;
  const id = snapshot.SnapshotId ?? '';
  try {
    await ec2.send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: id,
        Attribute: 'createVolumePermission',
        OperationType: 'add',
        UserIds: accounts,
      }),
      { abortSignal: run.deps.signal },
    );
  } catch (error) {
    rethrowIfAborted(error, deps.signal);
    const what = `Sharing snapshot ${id} in ${region} with ${accounts.join(', ')} failed (${describeAwsError(error)}).`;
    const text = `${awsErrorName(error) ?? ''} ${errorMessage(error)}`;
    if (
      snapshot.Encrypted &&
      (/default|managed|cannot be shared|can't be shared/i.test(text) ||
        awsErrorName(error) === 'OperationNotPermitted')
    ) {
      const fix = region === run.sourceRegion ? SHARE_FIX : copyKeyFix(region);
      throw new ActionError(
        `${what} The snapshot is encrypted with ${snapshot.KmsKeyId ?? 'a KMS key'}, which looks like the default EBS key (aws/ebs); ` +
          `snapshots encrypted with it cannot be shared with other accounts. To share it, ${fix}.`,
        { cause: error },
      );
    }
    const name = awsErrorName(error);
    if (name === 'UnauthorizedOperation' || name === 'AccessDenied') {
      throw new ActionError(`${what} The role needs ec2:ModifySnapshotAttribute in ${region}.`, {
        cause: error,
      });
    }
    if (/account|user ?id/i.test(text)) {
      throw new ActionError(`${what} Check the account IDs in ${INPUT.shareWithAccounts}.`, {
        cause: error,
      });
    }
    throw new ActionError(what, { cause: error });
  }
  deps.logger.info(`Shared ${id} in ${region} with ${accounts.join(', ')}.`);
  if (snapshot.Encrypted) {
    deps.logger.notice(
      `Snapshot ${id} in ${region} is encrypted with ${snapshot.KmsKeyId ?? 'a KMS key'}: accounts ${accounts.join(', ')} ` +
        `can only use it if that key's policy grants them kms:Decrypt, kms:DescribeKey, kms:CreateGrant and kms:ReEncrypt*.`,
    );
  }
}
