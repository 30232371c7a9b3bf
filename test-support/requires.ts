/**
 * Suites that need a real component of this machine (a registry, a containerd daemon): run when
 * it can be had; otherwise skipped locally with the reason printed, and under CI=true a failure,
 * since CI installs every component (.ci/run) and a skipped suite there is a test that did not run.
 */
import { describe, it } from '@jest/globals';

/** The first reason a component is missing, or undefined when all can be had. */
export function missing(...reasons: Array<string | undefined>): string | undefined {
  return reasons.find((r) => r !== undefined);
}

/** describe(), or, when `why` says a component is missing, a skip that says why (CI: a failure). */
export function describeWith(why: string | undefined): (name: string, fn: () => void) => void {
  if (why === undefined) return describe;
  if (process.env.CI === 'true') {
    return (name) =>
      describe(name, () => {
        it('has what it needs', () => {
          throw new Error(`cannot run under CI: ${why}`);
        });
      });
  }
  console.warn(`skipped (not under CI): ${why}`);
  return describe.skip;
}
