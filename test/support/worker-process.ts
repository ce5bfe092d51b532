import { type ChildProcess, spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { assertFreshDist } from './dist.js';

/** A real worker process (`node dist/src/worker.js`, as `npm run start:worker` runs it). */
export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** BullMQ's processedBy for the jobs this process holds (`host:pid`). */
  name: string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  assertFreshDist();
  const child = spawn(process.execPath, [resolve('dist/src/worker.js')], {
    env: { PATH: process.env.PATH ?? '', ...env, LOG_LEVEL: 'info' }, // 'worker started' is an info line
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolveStarted, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), 30_000);
    const check = () => {
      if (output.includes('worker started')) {
        clearTimeout(timer);
        resolveStarted();
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}:\n${output}`));
    });
  });
  return {
    child,
    name: `${hostname()}:${child.pid}`,
    output: () => output,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
