import { MemoryStepIdempotencyStore } from './memory-step-idempotency.store.js';
import { describeStepIdempotencyStoreContract } from './step-idempotency-store.contract.js';

describeStepIdempotencyStoreContract('memory', async () => {
  let offset = 0;
  const clock = { now: () => new Date(Date.now() + offset) };
  return { store: new MemoryStepIdempotencyStore(clock), passTime: async (ms) => void (offset += ms) };
});
