/** Helpers shared by the benchmark's parts: processes it starts, one-off SQL, polling. */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import pg from 'pg';

export async function sql<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

export interface Proc {
  child: ChildProcess;
  line: Promise<string>;
  stop(): Promise<void>;
}

/** Every process started here, killed when this process exits however it exits (a crash must not leave them running). */
const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export function start(
  script: string,
  env: Record<string, string>,
  readyText: string,
  args: readonly string[] = [],
  nodeArgs: readonly string[] = [],
): Proc {
  const child = spawn(process.execPath, [...nodeArgs, resolve(script), ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let out = '';
  let ready = false;
  const line = new Promise<string>((res, rej) => {
    child.stdout.on('data', (d: Buffer) => {
      // Once ready, the output is read and dropped (with request logging on, the API writes one line per
      // request: keeping it would grow without bound), as a log collector reading the pipe would.
      if (ready) return;
      out += d.toString();
      const found = out.split('\n').find((l) => l.includes(readyText));
      if (found) {
        ready = true;
        out = '';
        res(found);
      }
    });
    child.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    child.once('exit', (code) => rej(new Error(`${script} exited ${code}:\n${out}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    line,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
