// Compiles src/ with tsc into lib/, then bundles lib/entry/index.js and its
// dependencies into dist/index.js with ncc. dist/ is committed; scripts/check-dist.mjs
// checks it matches a fresh build.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';

const run = (args) => execFileSync(process.execPath, args, { stdio: 'inherit' });
rmSync('lib', { recursive: true, force: true });
rmSync('dist', { recursive: true, force: true });
run(['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
// Text the code reads beside itself (the builder's script): tsc does not copy it, ncc then
// carries it into dist/ as an asset.
cpSync('src', 'lib', { recursive: true, filter: (path) => !/\.ts$/.test(path) });
run([
  'node_modules/@vercel/ncc/dist/ncc/cli.js',
  'build',
  'lib/entry/index.js',
  '-o',
  'dist',
  '--license',
  'licenses.txt',
  '--quiet',
]);
