/** What a step hands back stays within GitHub's limits at any size, saying what was left out. */
import { describe, expect, it } from '@jest/globals';
import {
  jsonListWithin,
  MAX_OUTPUT_BYTES,
  MAX_SUMMARY_BYTES,
  summaryWithin,
} from '../../../src/core/limits.js';

const files = (n: number) =>
  Array.from({ length: n }, (_, i) => `clusters/prod/karpenter/nodeclasses/ml-${i}.yaml`);

describe('jsonListWithin', () => {
  it('keeps a list that fits whole', () => {
    const list = files(10);
    expect(jsonListWithin(list)).toEqual({ json: JSON.stringify(list), kept: 10 });
  });

  it('cuts 30,000 file names to valid JSON under 1 MB, from the first', () => {
    const list = files(30_000);
    expect(JSON.stringify(list).length).toBeGreaterThan(MAX_OUTPUT_BYTES);
    const { json, kept } = jsonListWithin(list);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(MAX_OUTPUT_BYTES);
    expect(JSON.parse(json)).toEqual(list.slice(0, kept));
    expect(kept).toBeGreaterThan(15_000);
    expect(kept).toBeLessThan(30_000);
  });

  it('counts bytes, not characters', () => {
    const { json } = jsonListWithin(['é'.repeat(40), 'é'.repeat(40)], 100);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(100);
    expect(JSON.parse(json)).toHaveLength(1);
  });
});

describe('summaryWithin', () => {
  it('leaves a summary that fits alone', () => {
    expect(summaryWithin('## ok\n')).toBe('## ok\n');
  });

  it('cuts a summary of 10,000 manifest rows at a line under 1 MiB and says how much is left out', () => {
    const rows = Array.from(
      { length: 10_000 },
      (_, i) =>
        `| clusters/prod/nodeclasses/ml-${i}.yaml | EC2NodeClass ml-${i} | ✅ updated ${'x'.repeat(80)} |`,
    );
    const text = `| file | target | result |\n| --- | --- | --- |\n${rows.join('\n')}\n`;
    expect(Buffer.byteLength(text)).toBeGreaterThan(MAX_SUMMARY_BYTES);
    const capped = summaryWithin(text);
    expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(MAX_SUMMARY_BYTES);
    expect(capped.startsWith('| file | target | result |\n')).toBe(true);
    const left = /> (\d+) more lines of this summary are left out/.exec(capped);
    expect(Number(left?.[1])).toBeGreaterThan(1000);
    // Every kept line is whole.
    const kept = capped.split('\n\n> ')[0]?.split('\n') ?? [];
    expect(kept.slice(2).every((l) => l.endsWith('|'))).toBe(true);
  });
});
