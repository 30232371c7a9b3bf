/**
 * A local server process for tests and benchmarks (moto_server, the
 * distribution registry): started in its own process group on a free loopback
 * port, polled until it answers (bounded), and stopped with SIGTERM, then
 * SIGKILL, even if the test process exits without stopping it.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

const LOG_LIMIT = 64 * 1024;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A port free on 127.0.0.1 right now (another process may still take it first). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

export interface ServiceOptions {
  /** For messages: "moto_server", "registry". */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Polled until `ready(status)` says so. */
  readyUrl: string;
  ready: (status: number) => boolean;
  /** Instead of the HTTP poll: true when ready, else why not (a daemon on a Unix socket). */
  probe?: () => Promise<true | string>;
  startTimeoutMs: number;
}

export interface ServiceProcess {
  /** What the process wrote to stdout/stderr (the last 64 KiB). */
  output(): string;
  /** SIGTERM to the group, SIGKILL after 5 s, gives up waiting after 10 s. Idempotent. */
  stop(): Promise<void>;
}

export async function startService(options: ServiceOptions): Promise<ServiceProcess> {
  let output = '';
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-LOG_LIMIT);
  };
  // Own process group, so stop() also reaches anything the server spawned.
  const child = spawn(options.command, options.args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  });
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let exited = child.exitCode !== null;
  let spawnError: Error | undefined;
  child.once('exit', () => (exited = true));
  // 'close' comes after 'exit' once stdout/stderr are drained, so the output is complete then.
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => {
      exited = true;
      resolve();
    });
    child.once('error', (error) => {
      spawnError = error;
      exited = true;
      resolve();
    });
  });
  const signalGroup = (signal: NodeJS.Signals): void => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    }
  };
  // If the test process dies without calling stop(), don't leave the server behind.
  const onProcessExit = (): void => signalGroup('SIGKILL');
  process.once('exit', onProcessExit);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      process.removeListener('exit', onProcessExit);
      signalGroup('SIGTERM');
      const killTimer = setTimeout(() => signalGroup('SIGKILL'), 5000);
      let giveUpTimer: NodeJS.Timeout | undefined;
      const giveUp = new Promise<void>((r) => (giveUpTimer = setTimeout(r, 10_000)));
      await Promise.race([closed, giveUp]);
      clearTimeout(killTimer);
      clearTimeout(giveUpTimer);
      child.stdout.destroy();
      child.stderr.destroy();
    })();
    return stopped;
  };

  const deadline = Date.now() + options.startTimeoutMs;
  let lastError = '';
  for (let attempt = 0; attempt < 300 && Date.now() < deadline && !exited; attempt++) {
    try {
      const probed = await (options.probe ?? httpProbe(options))();
      if (probed === true) return { output: () => output, stop };
      lastError = probed;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(100);
  }
  await stop(); // waits for 'close', so the output below is complete
  const why = spawnError
    ? `could not run ${options.command}: ${spawnError.message}`
    : exited
      ? `${options.command} exited with code ${child.exitCode ?? child.signalCode}`
      : `${options.command} did not answer within ${options.startTimeoutMs} ms (last error: ${lastError})`;
  throw new Error(
    `${options.name} failed to start on ${options.readyUrl}: ${why}\n--- ${options.name} output ---\n${output}`,
  );
}

function httpProbe(options: ServiceOptions): () => Promise<true | string> {
  return async () => {
    const res = await fetch(options.readyUrl, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return options.ready(res.status) ? true : `HTTP ${res.status}`;
  };
}
