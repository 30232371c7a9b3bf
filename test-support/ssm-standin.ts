/**
 * A local stand-in for the parts of AWS Systems Manager the action uses, speaking the AWS JSON 1.1
 * protocol so the real `@aws-sdk/client-ssm` client can be pointed at it (AWS_ENDPOINT_URL_SSM or
 * `endpoint`). Instances are looked up in an EC2 emulator (moto); SendCommand runs the
 * AWS-RunShellScript `commands` locally the way the SSM agent does on Linux (`sh -c _script.sh`,
 * own process group), with stub programs on PATH playing the instance.
 *
 * Test support only: never bundled into the action.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';

export interface SsmStandInOptions {
  /** EC2 endpoint (moto) used to check that an instance exists and is running */
  ec2Endpoint: string;
  region?: string; // default 'us-east-1'
  /** public parameters served by GetParameter/GetParameters */
  parameters?: Record<string, string>;
  /** an instance reports Online this many ms after the stand-in first sees it running (default 0) */
  onlineAfterMs?: number;
  /** never report any instance Online (to test the action's bounded wait) */
  neverOnline?: boolean;
  /** GetCommandInvocation answers InvocationDoesNotExist for this many ms after SendCommand, as
   * real SSM (eventually consistent) often does right after SendCommand (default 0) */
  invocationVisibleAfterMs?: number;
  /** directories prepended to PATH for the executed script (stub apiclient, ctr, ...) */
  pathPrepend?: string[];
  /** extra environment for executed scripts */
  env?: Record<string, string>;
  /** root under which each instance gets its own directory, passed to the script as env
   * INSTANCE_STATE_DIR=<root>/<instanceId> */
  stateRoot: string;
}

export interface RecordedCommand {
  commandId: string;
  instanceIds: string[];
  documentName: string;
  comment?: string;
  timeoutSeconds?: number;
  parameters: Record<string, string[]>;
  /** error type (e.g. 'ValidationException') if the stand-in rejected the SendCommand */
  rejected?: string;
}

export interface SsmStandIn {
  url: string; // http://127.0.0.1:<port>
  close(): Promise<void>; // kills running scripts, closes server
  /** every SendCommand received (also rejected ones), as the SDK sent it */
  readonly commands: RecordedCommand[];
  /** every JSON request received: { target: 'AmazonSSM.SendCommand', body } */
  readonly requests: Array<{ target: string; body: unknown }>;
  /** How long the scripts of finished invocations ran, in ms (the "instance's" own time). */
  executionMs(): number;
}

type InvocationStatus =
  'InProgress' | 'Success' | 'Failed' | 'Cancelling' | 'Cancelled' | 'TimedOut';

interface Invocation {
  instanceId: string;
  child?: ChildProcess;
  stdout: string;
  stderr: string;
  status: InvocationStatus;
  responseCode: number;
  startedAt?: Date;
  endedAt?: Date;
  cancelRequested: boolean;
  timedOut: boolean;
  timers: NodeJS.Timeout[];
  /** records the outcome (first call wins) and resolves `done` */
  finish(status: InvocationStatus, code: number): void;
  /** resolves once the outcome is known (or the script never started) */
  done: Promise<void>;
}

interface CommandRecord {
  command: Record<string, unknown>;
  requestedAt: number;
  invocations: Map<string, Invocation>;
}

class SsmError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const STDOUT_LIMIT = 24000; // GetCommandInvocation returns the first 24,000 characters of stdout
const STDERR_LIMIT = 8000; // ... and the first 8,000 characters of stderr
/** amazon-ssm-agent (Linux) exit code for a script stopped preemptively (timeout or cancel) */
const STOPPED_PREEMPTIVELY_EXIT_CODE = 137;
const RUN_SHELL_SCRIPT_PARAMETERS = new Set(['commands', 'workingDirectory', 'executionTimeout']);
const EXECUTION_TIMEOUT_MAX = 172800; // AWS-RunShellScript allowedPattern tops out at 172800

const epochSeconds = (ms = Date.now()): number => ms / 1000;
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const optString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const stringList = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/** Signals the script's whole process group: that also reaches what it left running in the
 * background after the shell itself exited. */
function killGroup(child: ChildProcess | undefined, signal: NodeJS.Signals): void {
  if (child?.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

export async function startSsmStandIn(options: SsmStandInOptions): Promise<SsmStandIn> {
  const region = options.region ?? 'us-east-1';
  const parameters = options.parameters ?? {};
  const onlineAfterMs = options.onlineAfterMs ?? 0;
  const ec2 = new EC2Client({
    endpoint: options.ec2Endpoint,
    region,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 2,
  });
  const firstSeenRunning = new Map<string, number>();
  const commandsById = new Map<string, CommandRecord>();
  const recorded: RecordedCommand[] = [];
  const requests: Array<{ target: string; body: unknown }> = [];
  let closing = false;

  // ---- EC2 (moto) lookups ------------------------------------------------------------------

  async function describeInstances(ids: string[] | undefined): Promise<Instance[]> {
    if (ids === undefined) {
      const out = await ec2.send(new DescribeInstancesCommand({}));
      return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    }
    const found: Instance[] = [];
    for (const id of ids) {
      try {
        const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
        found.push(...(out.Reservations ?? []).flatMap((r) => r.Instances ?? []));
      } catch (err) {
        if (!(err instanceof Error) || !err.name.startsWith('InvalidInstanceID')) throw err;
      }
    }
    return found;
  }

  /** The instances among `ids` (all, if undefined) that SSM would report Online right now. */
  async function onlineInstances(ids: string[] | undefined): Promise<Instance[]> {
    const now = Date.now();
    const online: Instance[] = [];
    for (const inst of await describeInstances(ids)) {
      const id = inst.InstanceId ?? '';
      if (inst.State?.Name !== 'running') {
        firstSeenRunning.delete(id);
        continue;
      }
      const since = firstSeenRunning.get(id) ?? now;
      firstSeenRunning.set(id, since);
      if (!options.neverOnline && now - since >= onlineAfterMs) online.push(inst);
    }
    return online;
  }

  // ---- script execution --------------------------------------------------------------------

  async function startInvocation(
    commandId: string,
    instanceId: string,
    script: string,
    executionTimeoutSeconds: number,
    workingDirectory: string | undefined,
  ): Promise<Invocation> {
    let markDone!: () => void;
    const inv: Invocation = {
      instanceId,
      stdout: '',
      stderr: '',
      status: 'InProgress',
      responseCode: -1,
      cancelRequested: false,
      timedOut: false,
      timers: [],
      done: new Promise<void>((resolve) => (markDone = resolve)),
      finish(status, code) {
        if (inv.endedAt) return;
        inv.timers.forEach(clearTimeout);
        inv.status = status;
        inv.responseCode = code;
        inv.endedAt = new Date();
        markDone();
      },
    };
    const finish = inv.finish;
    const stateDir = join(options.stateRoot, instanceId);
    const workDir = join(stateDir, '.ssm', commandId);
    const scriptPath = join(workDir, '_script.sh');
    try {
      await mkdir(workDir, { recursive: true });
      await writeFile(scriptPath, script, { mode: 0o755 });
      if (closing) throw new Error('the SSM stand-in is closing');
    } catch (err) {
      inv.startedAt = new Date();
      inv.stderr = `failed to prepare script: ${String(err)}`;
      finish('Failed', 1);
      return inv;
    }
    const basePath = options.env?.PATH ?? process.env.PATH ?? '/usr/bin:/bin';
    const child = spawn('sh', ['-c', scriptPath], {
      cwd: workingDirectory || workDir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...options.env,
        PATH: [...(options.pathPrepend ?? []), basePath].join(':'),
        INSTANCE_STATE_DIR: stateDir,
        AWS_SSM_INSTANCE_ID: instanceId,
        AWS_SSM_REGION_NAME: region,
      },
    });
    inv.child = child;
    inv.startedAt = new Date();
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (inv.stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (inv.stderr += s));
    child.on('error', (err) => {
      inv.stderr += `failed to run script: ${err.message}\n`;
      finish('Failed', 1);
    });
    // Like the agent (Go's cmd.Wait with non-file writers), a normal end is when stdout/stderr
    // close, not when the shell exits: a script that leaves a background process holding them
    // stays InProgress until executionTimeout, as it would on a real instance.
    child.on('close', (code: number | null) => {
      if (code === 0) finish('Success', 0);
      else finish('Failed', code ?? -1); // -1: killed by a signal, as the agent reports it
    });
    // After a timeout or cancel the agent stops reading and reports at once.
    child.on('exit', () => {
      if (inv.timedOut) finish('TimedOut', STOPPED_PREEMPTIVELY_EXIT_CODE);
      else if (inv.cancelRequested) finish('Cancelled', STOPPED_PREEMPTIVELY_EXIT_CODE);
    });
    const timeout = setTimeout(() => {
      inv.timedOut = true;
      killGroup(child, 'SIGKILL');
      finish('TimedOut', STOPPED_PREEMPTIVELY_EXIT_CODE);
    }, executionTimeoutSeconds * 1000);
    timeout.unref();
    inv.timers.push(timeout);
    return inv;
  }

  function cancelInvocation(inv: Invocation): void {
    if (inv.endedAt || inv.cancelRequested) return;
    inv.cancelRequested = true;
    inv.status = 'Cancelling';
    killGroup(inv.child, 'SIGTERM');
    const t = setTimeout(() => {
      killGroup(inv.child, 'SIGKILL');
      inv.finish('Cancelled', STOPPED_PREEMPTIVELY_EXIT_CODE);
    }, 2000);
    t.unref();
    inv.timers.push(t);
  }

  // ---- operations --------------------------------------------------------------------------

  function parameterOf(name: string): Record<string, unknown> | undefined {
    const value = parameters[name];
    if (value === undefined) return undefined;
    return {
      Name: name,
      Type: 'String',
      Value: value,
      Version: 1,
      LastModifiedDate: epochSeconds(),
      ARN: `arn:aws:ssm:${region}::parameter${name.startsWith('/') ? '' : '/'}${name}`,
      DataType: 'text',
    };
  }

  function getParameter(body: Record<string, unknown>): unknown {
    const name = optString(body.Name) ?? '';
    const parameter = parameterOf(name);
    if (!parameter) throw new SsmError('ParameterNotFound', `Parameter ${name} not found.`);
    return { Parameter: parameter };
  }

  function getParameters(body: Record<string, unknown>): unknown {
    const names = stringList(body.Names);
    return {
      Parameters: names.flatMap((n) => parameterOf(n) ?? []),
      InvalidParameters: names.filter((n) => parameters[n] === undefined),
    };
  }

  async function describeInstanceInformation(body: Record<string, unknown>): Promise<unknown> {
    let ids: string[] | undefined;
    let pingStatuses: string[] | undefined;
    for (const f of Array.isArray(body.Filters) ? body.Filters : []) {
      if (!isRecord(f)) continue;
      if (f.Key === 'InstanceIds') ids = [...(ids ?? []), ...stringList(f.Values)];
      if (f.Key === 'PingStatus') pingStatuses = stringList(f.Values);
    }
    const legacy = Array.isArray(body.InstanceInformationFilterList)
      ? body.InstanceInformationFilterList
      : [];
    for (const f of legacy) {
      if (isRecord(f) && f.key === 'InstanceIds') ids = [...(ids ?? []), ...stringList(f.valueSet)];
    }
    const online =
      pingStatuses && !pingStatuses.includes('Online') ? [] : await onlineInstances(ids);
    return {
      InstanceInformationList: online.map((inst) => ({
        InstanceId: inst.InstanceId,
        PingStatus: 'Online',
        LastPingDateTime: epochSeconds(),
        AgentVersion: '3.3.1611.0',
        IsLatestVersion: false,
        PlatformType: 'Linux',
        PlatformName: 'Bottlerocket',
        PlatformVersion: '1.40.0',
        ResourceType: 'EC2Instance',
        IPAddress: inst.PrivateIpAddress,
        ComputerName: inst.PrivateDnsName,
      })),
    };
  }

  async function sendCommand(body: Record<string, unknown>): Promise<unknown> {
    const commandId = randomUUID();
    const instanceIds = stringList(body.InstanceIds);
    const documentName = optString(body.DocumentName) ?? '';
    const comment = optString(body.Comment);
    const timeoutSeconds =
      typeof body.TimeoutSeconds === 'number' ? body.TimeoutSeconds : undefined;
    const params: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(isRecord(body.Parameters) ? body.Parameters : {})) {
      params[k] = stringList(v);
    }
    const rec: RecordedCommand = { commandId, instanceIds, documentName, parameters: params };
    if (comment !== undefined) rec.comment = comment;
    if (timeoutSeconds !== undefined) rec.timeoutSeconds = timeoutSeconds;
    recorded.push(rec);
    try {
      const problems: string[] = [];
      if (comment !== undefined && comment.length > 100) {
        problems.push(
          `Value '${comment}' at 'comment' failed to satisfy constraint: Member must have length less than or equal to 100`,
        );
      }
      if (timeoutSeconds !== undefined && (timeoutSeconds < 30 || timeoutSeconds > 2592000)) {
        const bound =
          timeoutSeconds < 30 ? 'greater than or equal to 30' : 'less than or equal to 2592000';
        problems.push(
          `Value '${timeoutSeconds}' at 'timeoutSeconds' failed to satisfy constraint: Member must have value ${bound}`,
        );
      }
      if (problems.length > 0) {
        const n = problems.length;
        throw new SsmError(
          'ValidationException',
          `${n} validation error${n > 1 ? 's' : ''} detected: ${problems.join('; ')}`,
        );
      }
      if (documentName !== 'AWS-RunShellScript') {
        throw new SsmError('InvalidDocument', `Document ${documentName} does not exist`);
      }
      const unknown = Object.keys(params).filter((k) => !RUN_SHELL_SCRIPT_PARAMETERS.has(k));
      if (unknown.length > 0) {
        throw new SsmError('InvalidParameters', `Parameters ${unknown.join(', ')} are not defined`);
      }
      const lines = params.commands ?? [];
      if (lines.length === 0) {
        throw new SsmError('InvalidParameters', 'Parameter "commands" is required.');
      }
      const timeoutParam = params.executionTimeout?.[0] ?? '3600';
      const executionTimeout = Number(timeoutParam);
      if (!/^[1-9][0-9]*$/.test(timeoutParam) || executionTimeout > EXECUTION_TIMEOUT_MAX) {
        throw new SsmError(
          'InvalidParameters',
          `Parameter "executionTimeout" "${timeoutParam}" failed to satisfy constraint: allowed range 1..${EXECUTION_TIMEOUT_MAX}`,
        );
      }
      if (instanceIds.length === 0 || instanceIds.length > 50) {
        throw new SsmError('ValidationException', 'InstanceIds must hold 1 to 50 instance ids');
      }
      const online = new Set((await onlineInstances(instanceIds)).map((i) => i.InstanceId));
      const notOnline = instanceIds.filter((id) => !online.has(id));
      if (notOnline.length > 0) {
        throw new SsmError(
          'InvalidInstanceId',
          `Instances [[${notOnline.join(', ')}]] not in a valid state for account 123456789012`,
        );
      }
      const requestedAt = Date.now();
      const command: Record<string, unknown> = {
        CommandId: commandId,
        DocumentName: documentName,
        DocumentVersion: '$DEFAULT',
        Comment: comment ?? '',
        ExpiresAfter: epochSeconds(requestedAt + (timeoutSeconds ?? 3600) * 1000),
        Parameters: params,
        InstanceIds: instanceIds,
        Targets: [],
        RequestedDateTime: epochSeconds(requestedAt),
        Status: 'Pending',
        StatusDetails: 'Pending',
        MaxConcurrency: '50',
        MaxErrors: '0',
        TargetCount: instanceIds.length,
        CompletedCount: 0,
        ErrorCount: 0,
        DeliveryTimedOutCount: 0,
        TimeoutSeconds: timeoutSeconds ?? 3600,
      };
      const invocations = new Map<string, Invocation>();
      commandsById.set(commandId, { command, requestedAt, invocations });
      const script = lines.join('\n') + '\n';
      const cwd = params.workingDirectory?.[0];
      for (const id of new Set(instanceIds)) {
        invocations.set(id, await startInvocation(commandId, id, script, executionTimeout, cwd));
      }
      return { Command: command };
    } catch (err) {
      if (err instanceof SsmError) rec.rejected = err.type;
      throw err;
    }
  }

  function getCommandInvocation(body: Record<string, unknown>): unknown {
    const commandId = optString(body.CommandId) ?? '';
    const instanceId = optString(body.InstanceId) ?? '';
    const cmd = commandsById.get(commandId);
    const inv = cmd?.invocations.get(instanceId);
    const hidden = cmd && Date.now() - cmd.requestedAt < (options.invocationVisibleAfterMs ?? 0);
    if (!cmd || !inv || hidden) throw new SsmError('InvocationDoesNotExist', '');
    const end = inv.endedAt;
    const elapsedMs = inv.startedAt ? (end ?? new Date()).getTime() - inv.startedAt.getTime() : 0;
    return {
      CommandId: commandId,
      InstanceId: instanceId,
      Comment: cmd.command.Comment,
      DocumentName: cmd.command.DocumentName,
      DocumentVersion: '$DEFAULT',
      PluginName: 'aws:runShellScript',
      ResponseCode: inv.responseCode,
      ExecutionStartDateTime: inv.startedAt?.toISOString() ?? '',
      ExecutionElapsedTime: `PT${(elapsedMs / 1000).toFixed(3)}S`,
      ExecutionEndDateTime: end?.toISOString() ?? '',
      Status: inv.status,
      StatusDetails: inv.status === 'TimedOut' ? 'ExecutionTimedOut' : inv.status,
      StandardOutputContent: inv.stdout.slice(0, STDOUT_LIMIT),
      StandardOutputUrl: '',
      StandardErrorContent: inv.stderr.slice(0, STDERR_LIMIT),
      StandardErrorUrl: '',
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    };
  }

  function cancelCommand(body: Record<string, unknown>): unknown {
    const commandId = optString(body.CommandId) ?? '';
    const cmd = commandsById.get(commandId);
    if (!cmd) throw new SsmError('InvalidCommandId', '');
    const only = body.InstanceIds === undefined ? undefined : new Set(stringList(body.InstanceIds));
    for (const inv of cmd.invocations.values()) {
      if (!only || only.has(inv.instanceId)) cancelInvocation(inv);
    }
    return {};
  }

  function aggregateStatus(invs: Invocation[]): string {
    const has = (s: InvocationStatus): boolean => invs.some((i) => i.status === s);
    if (has('InProgress')) return 'InProgress';
    if (has('Cancelling')) return 'Cancelling';
    if (has('TimedOut')) return 'TimedOut';
    if (has('Cancelled')) return 'Cancelled';
    if (has('Failed')) return 'Failed';
    return 'Success';
  }

  function listCommands(body: Record<string, unknown>): unknown {
    const commandId = optString(body.CommandId);
    const instanceId = optString(body.InstanceId);
    const out: unknown[] = [];
    for (const [id, cmd] of commandsById) {
      if (commandId !== undefined && id !== commandId) continue;
      const invs = [...cmd.invocations.values()];
      if (instanceId !== undefined && !cmd.invocations.has(instanceId)) continue;
      const status = aggregateStatus(invs);
      const completed = invs.filter((i) => i.endedAt).length;
      const errors = invs.filter((i) => i.endedAt && i.status !== 'Success').length;
      out.push({
        ...cmd.command,
        Status: status,
        StatusDetails: status,
        CompletedCount: completed,
        ErrorCount: errors,
      });
    }
    if (commandId !== undefined && out.length === 0) throw new SsmError('InvalidCommandId', '');
    return { Commands: out };
  }

  const operations: Record<string, (body: Record<string, unknown>) => unknown> = {
    GetParameter: getParameter,
    GetParameters: getParameters,
    DescribeInstanceInformation: describeInstanceInformation,
    SendCommand: sendCommand,
    GetCommandInvocation: getCommandInvocation,
    CancelCommand: cancelCommand,
    ListCommands: listCommands,
  };

  // ---- HTTP --------------------------------------------------------------------------------

  function reply(res: ServerResponse, status: number, payload: unknown): void {
    const text = JSON.stringify(payload);
    res.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.1',
      'Content-Length': Buffer.byteLength(text),
      'x-amzn-RequestId': randomUUID(),
    });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    let body: unknown;
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      body = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      reply(res, 400, { __type: 'SerializationException', message: 'invalid JSON body' });
      return;
    }
    requests.push({ target, body });
    const name = target.startsWith('AmazonSSM.') ? target.slice('AmazonSSM.'.length) : '';
    const operation = Object.hasOwn(operations, name) ? operations[name] : undefined;
    if (req.method !== 'POST' || !operation || !isRecord(body)) {
      reply(res, 400, { __type: 'UnknownOperationException', message: `unknown target ${target}` });
      return;
    }
    try {
      reply(res, 200, await operation(body));
    } catch (err) {
      if (err instanceof SsmError) {
        reply(res, 400, { __type: err.type, message: err.message });
      } else {
        reply(res, 500, { __type: 'InternalServerError', message: String(err) });
      }
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        reply(res, 500, { __type: 'InternalServerError', message: String(err) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    commands: recorded,
    requests,
    executionMs(): number {
      let total = 0;
      for (const cmd of commandsById.values()) {
        for (const inv of cmd.invocations.values()) {
          if (inv.startedAt && inv.endedAt)
            total += inv.endedAt.getTime() - inv.startedAt.getTime();
        }
      }
      return total;
    },
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      const invocations = [...commandsById.values()].flatMap((c) => [...c.invocations.values()]);
      for (const inv of invocations) killGroup(inv.child, 'SIGKILL');
      const settled = Promise.all(invocations.map((i) => i.done));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([settled, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      for (const inv of invocations) {
        inv.timers.forEach(clearTimeout);
        // a process that left the group may still hold the pipes: stop reading them
        inv.child?.stdout?.destroy();
        inv.child?.stderr?.destroy();
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      ec2.destroy();
    },
  };
}
