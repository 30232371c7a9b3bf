/**
 * The action's two steps. `runMain` (main.ts) validates the inputs, gets credentials, builds
 * the snapshot and reports it; `runPost` (post.ts) removes anything a main step that did not
 * finish cleanly may have left behind. Both talk to the runner only through ActionRuntime
 * (runtime.ts).
 */
export { runMain } from './main.js';
export { runPost } from './post.js';
export type { ActionRuntime } from './runtime.js';
