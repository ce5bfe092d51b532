import ipaddr from 'ipaddr.js';

/**
 * SKILL_HTTP_ALLOWED_HOSTS: a comma list of `host` or `host:port`; `*` allows any public host.
 * Loopback, private, link-local, metadata and other non-public addresses are refused unless the
 * host is listed explicitly, and the check applies to every address the name resolves to.
 */
export class HostPolicy {
  private readonly any: boolean;
  private readonly entries: Array<{ host: string; port: number | null }>;

  constructor(allowedHosts: string) {
    const items = allowedHosts
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    this.any = items.includes('*');
    this.entries = items.filter((i) => i !== '*').map(parseEntry);
  }

  /** True when this host (as written in the URL) and port are listed explicitly. */
  isListed(host: string, port: number): boolean {
    const h = normaliseHost(host);
    return this.entries.some((e) => e.host === h && (e.port === null || e.port === port));
  }

  /** Whether a URL's host may be contacted at all, before DNS. */
  allowsHost(host: string, port: number): boolean {
    return this.any || this.isListed(host, port);
  }

  /** Whether a resolved address may be connected to for that host. */
  allowsAddress(host: string, port: number, address: string): boolean {
    if (this.isListed(host, port)) return true;
    return this.any && isPublicAddress(address);
  }
}

function parseEntry(item: string): { host: string; port: number | null } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(item);
  if (bracketed) return { host: normaliseHost(bracketed[1]), port: bracketed[2] ? Number(bracketed[2]) : null };
  const parts = item.split(':');
  if (parts.length === 2 && /^\d+$/.test(parts[1])) return { host: normaliseHost(parts[0]), port: Number(parts[1]) };
  return { host: normaliseHost(item), port: null };
}

/** Lower case, no brackets, no trailing dot; IP literals in their canonical form. */
export function normaliseHost(host: string): string {
  let h = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (ipaddr.isValid(h)) {
    const parsed = ipaddr.parse(h);
    h =
      parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()
        ? (parsed as ipaddr.IPv6).toIPv4Address().toString()
        : parsed.toString();
  }
  return h;
}

/** Only globally routable unicast addresses count as public (IPv4-mapped IPv6 judged as IPv4). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === 'unicast';
}
