import { InProcessRunQueue } from './in-process-run.queue.js';

describe('InProcessRunQueue fair share (embedded mode)', () => {
  /** Runs the queue with one slot; records the order in which the handler is called. */
  const drain = async (fill: (queue: InProcessRunQueue) => Promise<void>, expected: number) => {
    const queue = new InProcessRunQueue();
    const order: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    await fill(queue);
    await queue.startConsuming(
      async (runId) => {
        order.push(runId);
        if (order.length === expected) done();
        await new Promise((r) => setImmediate(r));
        return {};
      },
      { concurrency: 1, lockDurationMs: 30_000 },
    );
    await finished;
    await queue.stopConsuming();
    return order;
  };

  it("serves tenants in turn: a tenant's backlog does not hold back another tenant's run", async () => {
    const order = await drain(async (queue) => {
      for (let i = 0; i < 50; i++) await queue.enqueue(`a${i}`, 'A');
      await queue.enqueue('b0', 'B');
      await queue.enqueue('c0', 'C');
      await queue.enqueue('b1', 'B');
    }, 53);
    expect(order.slice(0, 6)).toEqual(['a0', 'b0', 'c0', 'a1', 'b1', 'a2']);
    expect(order.filter((id) => id.startsWith('a'))).toEqual(Array.from({ length: 50 }, (_, i) => `a${i}`)); // FIFO within a tenant
  });

  it('a run enqueued while a backlog is being served waits for one run per tenant ahead of it, not for the backlog', async () => {
    const queue = new InProcessRunQueue();
    const order: string[] = [];
    for (let i = 0; i < 100; i++) await queue.enqueue(`a${i}`, 'A');
    let late!: () => void;
    const lateDone = new Promise<void>((r) => (late = r));
    await queue.startConsuming(
      async (runId) => {
        order.push(runId);
        if (runId === 'a10') await queue.enqueue('b0', 'B');
        if (runId === 'b0') late();
        await new Promise((r) => setImmediate(r));
        return {};
      },
      { concurrency: 1, lockDurationMs: 30_000 },
    );
    await lateDone;
    await queue.stopConsuming();
    expect(order.indexOf('b0') - order.indexOf('a10')).toBeLessThanOrEqual(2);
  });

  it('keeps job ids unique (an enqueue of a run it holds is a no-op) and a delayed run comes back to its tenant', async () => {
    const queue = new InProcessRunQueue();
    const order: string[] = [];
    let tries = 0;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    await queue.enqueue('a0', 'A');
    await queue.enqueue('a0', 'A');
    await queue.enqueue('b0', 'B');
    await queue.startConsuming(
      async (runId) => {
        order.push(runId);
        if (runId === 'a0' && tries++ === 0) return { retryInMs: 5 };
        if (order.length === 3) done();
        return {};
      },
      { concurrency: 1, lockDurationMs: 30_000 },
    );
    await finished;
    await queue.stopConsuming();
    expect(order).toEqual(['a0', 'b0', 'a0']);
    expect(await queue.depth()).toEqual({ waiting: 0, active: 0, delayed: 0 });
  });
});
