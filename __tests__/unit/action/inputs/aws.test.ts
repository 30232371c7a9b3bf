// src/action/inputs/aws.ts: the region and the role every mode needs.
import { describe, expect, it } from '@jest/globals';
import { parseAwsInputs } from '../../../../src/action/inputs/aws.js';
import { readerOf, refusalOf } from '../../../../test-support/action-inputs.js';

describe('parseAwsInputs', () => {
  it.each([
    [{ 'aws-region': 'mars-1' }, 'aws-region', "'mars-1'"],
    [{ 'aws-region': '' }, 'aws-region', 'is required'],
    [{ 'role-to-assume': 'snapshot-builder' }, 'role-to-assume', 'is not an IAM role ARN'],
    [{ 'role-session-name': 'a' }, 'role-session-name', '2-64 characters'],
    [{ 'role-duration-seconds': '60' }, 'role-duration-seconds', 'between 900 and 43200'],
  ])('refuses %j naming the input', (inputs, input, text) => {
    const error = refusalOf(() => parseAwsInputs(readerOf(inputs)));
    expect(error.input).toBe(input);
    expect(error.message).toContain(`Input '${input}'`);
    expect(error.message).toContain(text);
  });
});
