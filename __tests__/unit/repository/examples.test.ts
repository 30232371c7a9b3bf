// The example workflows fit together and follow the README's advice: every workflow another
// one runs after exists under that name, every job that runs the action is in a concurrency
// group (two pushes never start two builders on one branch or pull request), and every action
// they use is on the current major version.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

interface Step {
  uses?: string;
}
interface Job {
  concurrency?: unknown;
  steps?: Step[];
}
interface Workflow {
  name?: string;
  on?: { workflow_run?: { workflows?: string[] } };
  concurrency?: unknown;
  jobs: Record<string, Job>;
}

const DIR = join(import.meta.dirname, '../../../examples/workflows');
const examples = readdirSync(DIR).map(
  (file) => [file, parse(readFileSync(join(DIR, file), 'utf8')) as Workflow] as const,
);

/** Current majors, checked against each action's repository (action.yml runs on node24). */
const CURRENT: Record<string, string> = {
  'actions/checkout': 'v7',
  'actions/create-github-app-token': 'v3',
  'acme/bottlerocket-ebs-snapshot': 'v1',
};

describe('examples/workflows', () => {
  it('has a matrix example and names every workflow', () => {
    expect(examples.length).toBeGreaterThanOrEqual(4);
    expect(examples.every(([, w]) => typeof w.name === 'string' && w.name !== '')).toBe(true);
    expect(examples.some(([, w]) => Object.values(w.jobs).some((j) => 'strategy' in j))).toBe(true);
  });

  it.each(examples)('%s runs after workflows that exist', (_file, workflow) => {
    const names = new Set(examples.map(([, w]) => w.name));
    for (const name of workflow.on?.workflow_run?.workflows ?? []) expect(names).toContain(name);
  });

  it.each(examples)('%s runs the action in a concurrency group', (_file, workflow) => {
    for (const job of Object.values(workflow.jobs)) {
      const ours = (job.steps ?? []).some((s) => s.uses?.includes('bottlerocket-ebs-snapshot'));
      if (ours) expect(job.concurrency ?? workflow.concurrency).toBeDefined();
    }
  });

  it.each(examples)('%s uses current majors', (_file, workflow) => {
    for (const step of Object.values(workflow.jobs).flatMap((j) => j.steps ?? [])) {
      if (!step.uses) continue;
      const [action = '', version] = step.uses.split('@');
      expect({ action, version }).toEqual({ action, version: CURRENT[action] });
    }
  });

  it('and the README use the same current majors', () => {
    const readme = readFileSync(join(DIR, '../../README.md'), 'utf8');
    const uses = [...readme.matchAll(/uses: ([\w.-]+\/[\w.-]+)@(v\d+)\b/g)];
    expect(uses.length).toBeGreaterThan(2);
    for (const [, action = '', version] of uses)
      expect({ action, version }).toEqual({ action, version: CURRENT[action] });
  });
});
