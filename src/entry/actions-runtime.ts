/**
 * The runner side of ActionRuntime, backed by @actions/core. This folder is
 * the only place that imports @actions/*.
 */
import * as core from '@actions/core';
import { createAwsClients } from '../aws/clients.js';
import { systemClock } from '../core/clock.js';
import { commandSafe, commandSafeLogger, type Annotation, type Logger } from '../core/logger.js';
import { proxyFetch } from '../core/proxy.js';
import type { ActionRuntime } from '../action/runtime.js';
import { createOctokit } from './octokit.js';

function properties(annotation?: Annotation): core.AnnotationProperties | undefined {
  if (!annotation) return undefined;
  const props: core.AnnotationProperties = {};
  if (annotation.title) props.title = annotation.title;
  if (annotation.file) props.file = annotation.file;
  if (annotation.startLine) props.startLine = annotation.startLine;
  return props;
}

/**
 * The step's log. Every message may hold text from files, registries, AWS or GitHub:
 * commandSafeLogger keeps any of it from forming a workflow command, and @actions/core
 * escapes annotation messages and properties (file, title) as the runner expects.
 */
export const actionsLogger: Logger = commandSafeLogger({
  debug: (m) => core.debug(m),
  info: (m) => core.info(m),
  warning: (m, a) => core.warning(m, properties(a)),
  error: (m, a) => core.error(m, properties(a)),
  notice: (m, a) => core.notice(m, properties(a)),
  group: (title, fn) => core.group(title, fn),
});

/** Aborts on the runner's cancellation signals (SIGINT first, SIGTERM 7.5 s later). */
export function cancellationSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (name: string) => () => {
    if (!controller.signal.aborted) {
      core.warning(`Received ${name}: cancelling and cleaning up.`);
      controller.abort(new Error(`Cancelled (${name}).`));
    }
  };
  process.once('SIGINT', onSignal('SIGINT'));
  process.once('SIGTERM', onSignal('SIGTERM'));
  return controller.signal;
}

export function actionsRuntime(): ActionRuntime {
  return {
    getInput: (name) => core.getInput(name),
    setOutput: (name, value) => core.setOutput(name, value),
    saveState: (key, value) => core.saveState(key, value),
    getState: (key) => core.getState(key),
    writeSummary: async (markdown) => {
      if (!process.env.GITHUB_STEP_SUMMARY) return;
      await core.summary.addRaw(markdown, true).write();
    },
    getIdToken: (audience) => core.getIDToken(audience),
    maskSecret: (value) => core.setSecret(value),
    setFailed: (message) => core.setFailed(commandSafe(message)),
    logger: actionsLogger,
    clock: systemClock,
    signal: cancellationSignal(),
    env: process.env,
    createClients: createAwsClients,
    createOctokit,
    fetch: proxyFetch(),
  };
}
