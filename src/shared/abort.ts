/**
 * An AbortSignal aborted (with the same reason) as soon as any of `signals` is. Unlike
 * `AbortSignal.any`, whose links live as long as the longest-lived source on Node 20 (one per step on
 * the process-wide shutdown signal, never freed), `dispose()` removes the listeners it added.
 */
export function linkedAbort(signals: readonly AbortSignal[]): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onAbort = (event: Event) => controller.abort((event.target as AbortSignal).reason);
  const linked: AbortSignal[] = [];
  for (const source of signals) {
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    source.addEventListener('abort', onAbort, { once: true });
    linked.push(source);
  }
  return { signal: controller.signal, dispose: () => linked.forEach((s) => s.removeEventListener('abort', onAbort)) };
}
