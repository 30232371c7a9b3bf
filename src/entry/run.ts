/**
 * The action's two steps as one function, for the bundle's entry and for running the action in
 * process: the runner starts the same bundle as the main step and, after the job's steps, as the
 * post step (action.yml `post`). The main step marks the state first thing, so the second start
 * knows it is the post step.
 */
import * as core from '@actions/core';
import { IS_POST, run as runMainStep } from './main.js';
import { run as runPostStep } from './post.js';

export async function run(): Promise<void> {
  await (core.getState(IS_POST) === 'true' ? runPostStep() : runMainStep());
}
