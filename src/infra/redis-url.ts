const CLUSTER_SCHEME = 'redis-cluster://';

/** The seed nodes of a `redis-cluster://host:port[,host:port…]` URL, or null for a server's URL. */
export function clusterSeeds(url: string): { host: string; port: number }[] | null {
  if (!url.startsWith(CLUSTER_SCHEME)) return null;
  return url
    .slice(CLUSTER_SCHEME.length)
    .split(',')
    .map((node) => {
      const m = /^([^:/,]+):(\d{1,5})$/.exec(node);
      if (!m?.[1] || !m[2]) throw new Error(`not host:port: "${node}" in ${url}`);
      return { host: m[1], port: Number(m[2]) };
    });
}
