/** The post step as a function of its own (for local runners that take one per step). */
import { runPost } from '../action/index.js';
import { actionsRuntime } from './actions-runtime.js';

export async function run(): Promise<void> {
  await runPost(actionsRuntime());
}
