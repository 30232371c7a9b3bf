// Gets every real component the demo and the tests use (test-support/components.ts), installing
// what this machine allows, and says how each was had. Exit 1 when one cannot be had.
// Usage: npx tsx scripts/components.ts
import { describeFound, provideAll } from '../test-support/components.js';

const { found, missing } = provideAll();
console.log(describeFound(found));
for (const m of missing) console.error(`missing: ${m}`);
process.exit(missing.length > 0 ? 1 : 0);
