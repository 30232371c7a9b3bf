/** The bundle's single entry point: main step or post step, as src/entry/run.ts decides. */
import { run } from './run.js';

await run();
