import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createTestDatabase, type TestDatabase } from './support/database.js';

/** Runs a built entry point with `env`; resolves with its exit code and output. */
function boot(script: string, env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [resolve(script), ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`${script} did not exit:\n${output}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

/**
 * DATABASE_URL without REDIS_URL: the queue and the step key store would live in each process's
 * memory while the runs are shared, so two processes could run one run. Both kinds of process
 * refuse to start, and say why; the CLI (which runs nothing) still works.
 */
describe('DATABASE_URL without REDIS_URL is refused at boot', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.drop();
  });

  it.each([['dist/src/main.js'], ['dist/src/worker.js']])(
    '%s exits with 78 and names the reason',
    async (script) => {
      const { code, output } = await boot(script, { DATABASE_URL: db.url, PORT: '0', LOG_LEVEL: 'warn' });
      expect(code).toBe(78);
      expect(output).toContain('DATABASE_URL is set but REDIS_URL is not');
      expect(output).toContain('a second process on the same database would take the same runs');
      expect(output).not.toContain(db.url); // no connection string in the message
    },
    40_000,
  );

  it('the CLI, which executes no run, works with DATABASE_URL alone', async () => {
    const { code, output } = await boot('dist/src/cli.js', { DATABASE_URL: db.url, LOG_LEVEL: 'warn' }, ['tenant:create', 'cli-tenant']);
    expect(output).not.toContain('REDIS_URL');
    expect(code).toBe(0);
    expect(output).toMatch(/"name": "cli-tenant"/);
  }, 40_000);
});
