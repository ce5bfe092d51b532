import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { loggableError } from '../logging/loggable-error.js';
import { type Broadcast, BroadcastUnconfirmedError, type Subscription } from './broadcast.port.js';

interface Envelope {
  /** The message's id, echoed in each acknowledgement. */
  id: string;
  /** The instance that waits for the acknowledgements. */
  from: string;
  body: string;
}

interface Pending {
  acks: number;
  /** How many subscribers Redis delivered the message to (PUBLISH's answer); null until it answered. */
  expected: number | null;
  settle: () => void;
}

/** Settles with `promise`, or rejects with BroadcastUnconfirmedError(`what`) after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BroadcastUnconfirmedError(what())), Math.max(0, ms));
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Redis pub/sub with acknowledgements. Each process has one subscriber connection (opened on first
 * use), subscribed to the topics it listens to and to an acknowledgement channel of its own. A handled
 * message is acknowledged (PUBLISH on the sender's channel) after its handler ran; `publish` waits for
 * as many acknowledgements as PUBLISH reported receivers.
 *
 * Delivery can only be relied on while the subscription is live: when the connection drops, `live`
 * turns false and `epoch` moves on at once, and a new epoch starts when it is subscribed again, so a
 * subscriber knows to drop whatever it kept from before (a message may have been missed meanwhile).
 */
export class RedisBroadcast implements Broadcast {
  private readonly logger = new Logger(RedisBroadcast.name);
  private readonly instance = randomUUID();
  private readonly handlers = new Map<string, Array<(message: string) => void>>();
  private readonly pending = new Map<string, Pending>();
  private subscriber: Redis | null = null;
  private live = false;
  private epoch = 0;
  /** Channels confirmed subscribed in the current epoch. */
  private readonly confirmed = new Set<string>();
  private waiters: Array<() => void> = [];

  constructor(
    /** The shared command connection: PUBLISH of messages and acknowledgements. */
    private readonly publisher: Redis,
    private readonly prefix: string,
  ) {}

  subscribe(topic: string, handler: (message: string) => void): Subscription {
    const first = !this.handlers.has(topic);
    this.handlers.set(topic, [...(this.handlers.get(topic) ?? []), handler]);
    const sub = this.connect();
    const channel = this.channel(topic);
    if (first && sub.status === 'ready') this.subscribeChannels(sub, [channel], this.epoch);
    const live = () => this.live && this.confirmed.has(channel);
    const epoch = () => this.epoch;
    return {
      get live() {
        return live();
      },
      get epoch() {
        return epoch();
      },
    };
  }

  async publish(topic: string, message: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.connect();
    // The acknowledgements come on this process's own channel: it must be subscribed first.
    if (!this.ackChannelLive()) {
      await within(
        new Promise<void>((r) => this.waiters.push(r)),
        deadline - Date.now(),
        () => `not subscribed to Redis within ${timeoutMs} ms`,
      );
    }
    const id = randomUUID();
    let settle!: () => void;
    const acknowledged = new Promise<void>((r) => (settle = r));
    const entry: Pending = { acks: 0, expected: null, settle };
    this.pending.set(id, entry);
    try {
      const envelope: Envelope = { id, from: this.instance, body: message };
      entry.expected = await within(
        this.publisher.publish(this.channel(topic), JSON.stringify(envelope)),
        deadline - Date.now(),
        () => `Redis did not take the message within ${timeoutMs} ms`,
      );
      if (entry.acks >= entry.expected) return;
      await within(
        acknowledged,
        deadline - Date.now(),
        () => `${entry.acks} of ${entry.expected} processes confirmed within ${timeoutMs} ms`,
      );
    } catch (error) {
      if (error instanceof BroadcastUnconfirmedError) throw error;
      throw new BroadcastUnconfirmedError(`Redis refused the message: ${loggableError(error).message}`);
    } finally {
      this.pending.delete(id);
    }
  }

  /** Closes the subscriber connection (shutdown). */
  close(): void {
    this.subscriber?.disconnect();
    this.subscriber = null;
    this.live = false;
    this.epoch++;
  }

  private channel(topic: string): string {
    return `${this.prefix}:broadcast:${topic}`;
  }

  private get ackChannel(): string {
    return `${this.prefix}:broadcast-ack:${this.instance}`;
  }

  private ackChannelLive(): boolean {
    return this.live && this.confirmed.has(this.ackChannel);
  }

  private connect(): Redis {
    if (this.subscriber) return this.subscriber;
    // Its own connection (a subscribed connection takes no other command), named so operators (and the
    // tests) can find it in CLIENT LIST. Subscriptions are renewed here on each `ready`, not by ioredis,
    // so the new epoch starts only once they are confirmed.
    const sub = this.publisher.duplicate({ autoResubscribe: false, connectionName: `${this.prefix}:broadcast` });
    this.subscriber = sub;
    sub.on('ready', () => {
      const epoch = ++this.epoch;
      this.subscribeChannels(sub, [this.ackChannel, ...[...this.handlers.keys()].map((t) => this.channel(t))], epoch);
    });
    sub.on('close', () => {
      // Whatever was kept from messages is suspect from here on: a message may be missed until the
      // connection is back and subscribed, and that starts a new epoch.
      if (this.live || this.confirmed.size > 0) this.logger.warn('broadcast subscription lost; caches that rely on it are dropped');
      this.live = false;
      this.confirmed.clear();
      this.epoch++;
    });
    sub.on('error', (error: unknown) => this.logger.debug(`broadcast subscriber: ${loggableError(error).message}`));
    sub.on('message', (channel: string, payload: string) => this.onMessage(channel, payload));
    return sub;
  }

  private subscribeChannels(sub: Redis, channels: string[], epoch: number): void {
    sub.subscribe(...channels).then(
      () => {
        if (this.epoch !== epoch || sub !== this.subscriber) return; // the connection dropped meanwhile
        for (const c of channels) this.confirmed.add(c);
        this.live = true;
        if (this.ackChannelLive()) {
          const waiters = this.waiters;
          this.waiters = [];
          for (const wake of waiters) wake();
        }
      },
      (error: unknown) => this.logger.warn(`broadcast subscribe failed: ${loggableError(error).message}`),
    );
  }

  private onMessage(channel: string, payload: string): void {
    if (channel === this.ackChannel) {
      const entry = this.pending.get(payload);
      if (!entry) return;
      entry.acks++;
      if (entry.expected !== null && entry.acks >= entry.expected) entry.settle();
      return;
    }
    let envelope: Envelope;
    try {
      envelope = JSON.parse(payload) as Envelope;
    } catch {
      return;
    }
    const topic = channel.slice(`${this.prefix}:broadcast:`.length);
    for (const handler of this.handlers.get(topic) ?? []) {
      try {
        handler(envelope.body);
      } catch (error) {
        this.logger.error(`broadcast handler of ${topic} failed: ${loggableError(error).message}`);
        return; // not acknowledged: the publisher learns that the message did not take effect
      }
    }
    this.publisher.publish(`${this.prefix}:broadcast-ack:${envelope.from}`, envelope.id).catch((error: unknown) => {
      this.logger.warn(`broadcast acknowledgement failed: ${loggableError(error).message}`);
    });
  }
}
