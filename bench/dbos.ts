/**
 * The DBOS Transact side of the end-to-end comparison (`npm run bench`), one script, two roles:
 *
 *   node dist/bench/dbos.js api      an HTTP process (node:http) that starts each workflow the way our API
 *                                    starts a run: POST /workflows -> `DBOSClient.enqueue` onto the queue
 *                                    `bench` with an explicit workflow id (a new UUID per request), 202
 *                                    with the id. One INSERT in DBOS's system database per request.
 *   node dist/bench/dbos.js worker   a DBOS process (`DBOS.launch()`) that runs the queue's workflows:
 *                                    the durable 3-step workflow below, each step a `DBOS.runStep`
 *                                    (a checkpoint in the system database after each step).
 *
 * Everything is DBOS's default but what a queue needs to exist: the system database (its `dbos`
 * schema) is in the bench's database on the same PostgreSQL as ours; the queue is registered with
 * no concurrency limit and the default polling interval; steps are plain functions computing what our
 * three `transform` steps compute (`input.n + 1`, `steps[0].output * 2`, `{ "total": steps[1].output }`).
 * Both print one JSON line when ready.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { DBOS, DBOSClient } from '@dbos-inc/dbos-sdk';

const role = process.argv[2];
const systemDatabaseUrl = process.env.DBOS_SYSTEM_DATABASE_URL!;
const QUEUE = 'bench';
const WORKFLOW = 'threeSteps';

async function threeSteps(input: { n: number }): Promise<{ total: number }> {
  const a = await DBOS.runStep(async () => input.n + 1, { name: 'a' });
  const b = await DBOS.runStep(async () => a * 2, { name: 'b' });
  return DBOS.runStep(async () => ({ total: b }), { name: 'c' });
}

async function worker(): Promise<void> {
  DBOS.registerWorkflow(threeSteps, { name: WORKFLOW });
  DBOS.setConfig({ name: 'bench', systemDatabaseUrl, logLevel: 'warn' });
  await DBOS.launch();
  await DBOS.registerQueue(QUEUE);
  process.stdout.write(`${JSON.stringify({ ready: true, role })}\n`);
  process.once('SIGTERM', () => void DBOS.shutdown().then(() => process.exit(0)));
}

async function api(): Promise<void> {
  const client = await DBOSClient.create({ systemDatabaseUrl, applicationName: 'bench' });
  const port = Number(process.env.PORT);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/workflows') {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { input: { n: number } };
      const workflowID = randomUUID();
      client.enqueue<typeof threeSteps>({ queueName: QUEUE, workflowName: WORKFLOW, workflowID }, body.input).then(
        () => res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: workflowID })),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  process.stdout.write(`${JSON.stringify({ ready: true, role, port })}\n`);
  process.once('SIGTERM', () => {
    server.close();
    void client.destroy().then(() => process.exit(0));
  });
}

(role === 'worker' ? worker() : role === 'api' ? api() : Promise.reject(new Error('role: api | worker'))).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
