/**
 * Starts a private moto_server (moto 5, Python) on a free loopback port for integration tests and
 * the demo. moto emulates EC2/STS/IAM; SSM Run Command is played by ./ssm-standin.ts.
 *
 * Test support only: never bundled into the action.
 */
import { motoCommand } from './components.js';
import { freePort, startService } from './service-process.js';

export interface Moto {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Kills moto_server (SIGTERM to its process group, SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void>;
  /** Forgets every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** What moto_server wrote to stdout/stderr so far (the last 64 KiB), for diagnostics. */
  logs(): string;
  /** How moto was had (test-support/components.ts), e.g. "moto_server on PATH". */
  how: string;
}

export interface StartMotoOptions {
  /** executable and its first arguments, default what test-support/components.ts found */
  command?: { command: string; args: string[] };
  /** extra environment, e.g. { MOTO_ENABLE_AMI_VALIDATION: 'true' } */
  env?: Record<string, string>;
  /** how long to wait for moto to answer, default 15000 ms */
  startTimeoutMs?: number;
}

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
  const { command, args, how } = { how: 'as given', ...(options.command ?? motoCommand()) };
  const url = `http://127.0.0.1:${port}`;
  const service = await startService({
    name: 'moto_server',
    command,
    args: [...args, '-H', '127.0.0.1', '-p', String(port)],
    env: { ...process.env, ...options.env },
    readyUrl: `${url}/moto-api/`,
    ready: (status) => status >= 200 && status < 300,
    startTimeoutMs: options.startTimeoutMs ?? 15000,
  });
  return {
    url,
    how,
    stop: service.stop,
    logs: service.output,
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
