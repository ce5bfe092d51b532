export const BROADCAST = Symbol('BROADCAST');

/** What a subscriber can rely on when it decides whether to trust state kept from earlier messages. */
export interface Subscription {
  /** True while messages of the topic are being received (connected and subscribed). */
  readonly live: boolean;
  /**
   * Changes whenever delivery was interrupted (connection lost, re-established): a message may have
   * been missed in between, so anything kept under an older epoch must not be trusted.
   */
  readonly epoch: number;
}

/** A publish that not every subscribed process confirmed in time (or that could not be sent at all). */
export class BroadcastUnconfirmedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BroadcastUnconfirmedError';
  }
}

/**
 * Messages to every process of the deployment (cache invalidation). Redis pub/sub in production, in
 * process when embedded. `publish` resolves only once every process subscribed to the topic (this one
 * included) has run its handler for the message: a caller that awaited it knows the message took effect.
 */
export interface Broadcast {
  /** Runs `handler` for every message on `topic` from now on (connecting when first asked). */
  subscribe(topic: string, handler: (message: string) => void): Subscription;
  /**
   * Sends `message` to the topic's subscribers and waits until each acknowledged it (its handler ran).
   * Rejects with BroadcastUnconfirmedError when that did not happen within `timeoutMs`.
   */
  publish(topic: string, message: string, timeoutMs: number): Promise<void>;
}
