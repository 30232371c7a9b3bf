/**
 * Starts a private moto_server (moto 5, Python) on a free loopback port for integration tests and
 * the demo. moto emulates EC2/STS/IAM; SSM Run Command is played by ./ssm-standin.ts.
 *
 * Test support only: never bundled into the action.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

export interface Moto {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Kills moto_server (SIGTERM to its process group, SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void>;
  /** Forgets every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** What moto_server wrote to stdout/stderr so far (the last 64 KiB), for diagnostics. */
  logs(): string;
}

export interface StartMotoOptions {
  /** executable, default 'moto_server' */
  command?: string;
  /** extra environment, e.g. { MOTO_ENABLE_AMI_VALIDATION: 'true' } */
  env?: Record<string, string>;
  /** how long to wait for moto to answer, default 15000 ms */
  startTimeoutMs?: number;
}

const LOG_LIMIT = 64 * 1024;

async function freePort(): Promise<number> {
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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startMoto(options: StartMotoOptions = {}): Promise<Moto> {
  // The free port could be taken by someone else before moto binds it: retry on a new port then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(await freePort(), options);
    } catch (err) {
      const portTaken = err instanceof Error && /address already in use/i.test(err.message);
      if (!portTaken || attempt >= 3) throw err;
    }
  }
}

async function launch(port: number, options: StartMotoOptions): Promise<Moto> {
  const command = options.command ?? 'moto_server';
  const startTimeoutMs = options.startTimeoutMs ?? 15000;
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-LOG_LIMIT);
  };

  // Own process group, so stop() also reaches anything moto_server spawned.
  const child = spawn(command, ['-H', '127.0.0.1', '-p', String(port)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let exited = child.exitCode !== null;
  let spawnError: Error | undefined;
  child.once('exit', () => (exited = true));
  // 'close' comes after 'exit' once stdout/stderr are drained, so the output is complete then.
  const exitPromise = new Promise<void>((resolve) => {
    child.once('close', () => {
      exited = true;
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
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
  // If the test process dies without calling stop(), don't leave moto behind.
  const onProcessExit = (): void => signalGroup('SIGKILL');
  process.once('exit', onProcessExit);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onProcessExit);
    signalGroup('SIGTERM');
    const killTimer = setTimeout(() => signalGroup('SIGKILL'), 5000);
    let giveUpTimer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<void>((r) => (giveUpTimer = setTimeout(r, 10000)));
    await Promise.race([exitPromise, giveUp]);
    clearTimeout(killTimer);
    clearTimeout(giveUpTimer);
    child.stdout.destroy();
    child.stderr.destroy();
  };

  const deadline = Date.now() + startTimeoutMs;
  let lastError = '';
  for (let attempt = 0; Date.now() < deadline && attempt < 200; attempt++) {
    if (exited) break;
    try {
      const res = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) {
        return {
          url,
          stop,
          logs: () => output,
          async reset(): Promise<void> {
            const r = await fetch(`${url}/moto-api/reset`, {
              method: 'POST',
              signal: AbortSignal.timeout(10000),
            });
            await r.arrayBuffer();
            if (!r.ok) throw new Error(`moto reset failed: HTTP ${r.status}`);
          },
        };
      }
      lastError = `HTTP ${res.status}`;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await sleep(100);
  }

  await stop(); // waits for 'close', so the output below is complete
  const why = spawnError
    ? `could not run ${command}: ${spawnError.message}`
    : exited
      ? `${command} exited with code ${child.exitCode ?? child.signalCode}`
      : `${command} did not answer within ${startTimeoutMs} ms (last error: ${lastError})`;
  throw new Error(`moto_server failed to start on ${url}: ${why}\n--- moto output ---\n${output}`);
}
