// `npm run watch -- --tenant acme --token <token> [--url http://127.0.0.1:3000] [--json]`
// Prints run transitions of a tenant as they arrive on the live channel; re-reads active runs after every
// (re)connect and on `resync`, so the terminal never silently misses a change.
import { parseArgs } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { loadConfigOrExit } from '../db/config.ts';
import type { ClientToServerEvents, RunUpdatePayload, RunView, ServerToClientEvents } from '../server/live/events.ts';

const USAGE = 'usage: npm run watch -- --tenant <slug> --token <token> [--url http://127.0.0.1:3000] [--json]';

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function readArgs() {
  try {
    return parseArgs({
      options: {
        tenant: { type: 'string' },
        token: { type: 'string' },
        url: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    return fail((error as Error).message);
  }
}

const args = readArgs();
if (!args.tenant) fail('--tenant is required');
if (!args.token) fail('--token is required');
const tenant = args.tenant;
const token = args.token;
const url = args.url ?? `http://127.0.0.1:${loadConfigOrExit().port}`;

const versions = new Map<string, number>();
const time = () => new Date().toISOString().slice(11, 19);

function line(kind: string, run: Pick<RunView, 'id' | 'type' | 'bucket' | 'counts' | 'failureCount' | 'version'>): string {
  const { processed, total, failed } = run.counts;
  const progress = total > 0 ? `${processed}/${total}` : `${processed}`;
  const failures = failed > 0 || run.failureCount > 0 ? ` failures=${run.failureCount}` : '';
  return `${time()} ${kind.padEnd(9)} ${run.bucket.padEnd(19)} ${run.type.padEnd(24)} ${progress.padStart(11)}${failures}  ${run.id} v${run.version}`;
}

function show(kind: string, run: RunUpdatePayload['run']): void {
  // Keep the highest version per run: a late or duplicate update never rolls a line back.
  if ((versions.get(run.id) ?? 0) >= run.version) return;
  versions.set(run.id, run.version);
  process.stdout.write(args.json ? `${JSON.stringify({ tenant, kind, run })}\n` : `${line(kind, run)}\n`);
}

async function reread(): Promise<void> {
  const query = new URLSearchParams({ limit: '100' });
  query.append('bucket', 'queued');
  query.append('bucket', 'running');
  const response = await fetch(`${url}/api/tenants/${encodeURIComponent(tenant)}/runs?${query}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) {
    process.stderr.write(`${time()} could not re-read runs: HTTP ${response.status}\n`);
    return;
  }
  const { runs } = (await response.json()) as { runs: RunView[] };
  process.stdout.write(`${time()} -- ${runs.length} active run(s)\n`);
  for (const run of runs.reverse()) show('active', run);
}

const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, {
  path: '/socket.io',
  transports: ['websocket'],
  auth: { token },
  reconnectionDelayMax: 10_000,
});

socket.on('connect', async () => {
  const answer = await socket.timeout(10_000).emitWithAck('subscribe', { tenant }).catch(() => null);
  if (!answer?.ok) fail(`cannot watch ${tenant}: ${answer ? answer.error : 'no answer'}`);
  process.stdout.write(`${time()} -- live on ${url} (${tenant})\n`);
  await reread().catch((error: Error) => process.stderr.write(`${time()} re-read failed: ${error.message}\n`));
});
socket.on('connect_error', (error) => {
  if (error.message === 'unauthorized') fail('the token was refused (unauthorized)');
  process.stderr.write(`${time()} -- cannot connect (${error.message}); retrying\n`);
});
socket.on('disconnect', (reason) => {
  process.stderr.write(`${time()} -- disconnected (${reason})\n`);
  if (reason === 'io server disconnect') fail('the server closed the connection (token revoked or logged out?)');
});
socket.on('run:update', (update) => show(update.kind, update.run));
socket.on('resync', () => {
  process.stdout.write(`${time()} -- server asked to resync\n`);
  void reread();
});

const stop = () => {
  socket.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
