import { Registry, register } from 'prom-client';

/**
 * An engine's registry as one exposition with prom-client's default registry, where the
 * process guard counts unhandled rejections (process-guard.ts).
 */
export async function scrape(registry: Registry): Promise<{ contentType: string; body: string }> {
  const all = Registry.merge([registry, register]);
  return { contentType: all.contentType, body: await all.metrics() };
}

/**
 * One read shared by the gauges a scrape fills from it (one XINFO for lag and pending):
 * prom-client collects a registry's metrics concurrently, so each gauge awaits the read
 * under way instead of counting on the order they were registered in.
 */
export function sharedRead<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | null = null;
  return () => {
    inFlight ??= read().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}
