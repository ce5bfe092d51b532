import type { Broadcast, Subscription } from './broadcast.port.js';

const ALWAYS: Subscription = { live: true, epoch: 0 };

/** Embedded mode: one process, so a message is handled by the time `publish` returns. */
export class InProcessBroadcast implements Broadcast {
  private readonly handlers = new Map<string, Array<(message: string) => void>>();

  subscribe(topic: string, handler: (message: string) => void): Subscription {
    this.handlers.set(topic, [...(this.handlers.get(topic) ?? []), handler]);
    return ALWAYS;
  }

  publish(topic: string, message: string): Promise<void> {
    for (const handler of this.handlers.get(topic) ?? []) handler(message);
    return Promise.resolve();
  }
}
