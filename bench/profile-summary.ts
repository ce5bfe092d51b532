/** A text summary of a V8 .cpuprofile: idle / GC / busy shares, self time by package and the top functions. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function packageOf(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return 'node:*';
  const dist = url.indexOf('/dist/');
  return dist >= 0
    ? `ours: ${url
        .slice(dist + 6)
        .split('/')
        .slice(0, 3)
        .join('/')}`
    : url;
}

/**
 * `window`: only the samples taken between these two times (µs of the monotonic clock, as
 * `process.hrtime.bigint() / 1000n` reads it in any process of the machine).
 */
export function summarizeProfile(profile: CpuProfile, window?: readonly [number, number]): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window[0] || at > window[1])) return;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const special = new Map<string, number>();
  const pkgs = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    if (['(idle)', '(garbage collector)', '(program)'].includes(name)) {
      special.set(name, (special.get(name) ?? 0) + us);
      continue;
    }
    const pkg = packageOf(node.callFrame.url);
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us);
    const fn = `${name || '(anonymous)'} ${pkg}:${node.callFrame.lineNumber + 1}`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1)}%`;
  const idle = special.get('(idle)') ?? 0;
  const busy = total - idle;
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `  ${pct(us).padStart(6)} ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`)
      .join('\n');
  return [
    `wall ${(total / 1e6).toFixed(1)} s: idle ${pct(idle)}, busy ${pct(busy)} (GC ${pct(special.get('(garbage collector)') ?? 0)}, program ${pct(special.get('(program)') ?? 0)})`,
    'self time by package:',
    top(pkgs, 12),
    'top functions (self):',
    top(fns, 20),
  ].join('\n');
}
