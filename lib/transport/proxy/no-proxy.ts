import { isIP } from 'node:net';

/**
 * Whether a `NO_PROXY` list exempts `host:port` from the proxy, matching as curl and undici users expect: a list
 * separated by commas or spaces, `*` for everything, host names matching themselves and their subdomains (a leading
 * `.` or `*.` is optional), an optional `:port`, IP literals (IPv6 in brackets when a port follows), and IPv4/IPv6
 * CIDR ranges.
 */
export function matchesNoProxy(noProxy: string, host: string, port: number): boolean {
  const target = stripBrackets(host).toLowerCase();
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const { pattern, entryPort } = splitPort(entry);
    if (entryPort !== undefined && entryPort !== port) continue;
    if (pattern.includes('/')) {
      if (inCidr(target, pattern)) return true;
      continue;
    }
    const name = stripBrackets(pattern).replace(/^\*?\./, '');
    if (name === '') continue;
    if (target === name) return true;
    if (isIP(name) === 0 && isIP(target) === 0 && target.endsWith(`.${name}`)) return true;
  }
  return false;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function splitPort(entry: string): { pattern: string; entryPort?: number } {
  const bracketed = /^(\[[^\]]+\])(?::(\d+))?$/.exec(entry);
  if (bracketed !== null) return bracketed[2] === undefined ? { pattern: bracketed[1]! } : { pattern: bracketed[1]!, entryPort: Number(bracketed[2]) };
  // One colon means host:port; more mean a bare IPv6 literal (possibly with a CIDR suffix).
  const colons = entry.split(':').length - 1;
  if (colons === 1) {
    const [pattern, p] = entry.split(':') as [string, string];
    if (/^\d+$/.test(p)) return { pattern, entryPort: Number(p) };
  }
  return { pattern: entry };
}

function inCidr(address: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/') as [string, string];
  const family = isIP(stripBrackets(base));
  if (family === 0 || isIP(address) !== family) return false;
  const bits = Number(bitsText);
  const a = ipBytes(address);
  const b = ipBytes(stripBrackets(base));
  if (!Number.isInteger(bits) || bits < 0 || bits > a.length * 8) return false;
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> i % 8;
    if ((a[i >> 3]! & mask) !== (b[i >> 3]! & mask)) return false;
  }
  return true;
}

function ipBytes(ip: string): number[] {
  if (isIP(ip) === 4) return ip.split('.').map(Number);
  // Expand IPv6, including an embedded IPv4 tail and `::`.
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    const [w, x, y, z] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -v4[1]!.length) + `${((w << 8) | x).toString(16)}:${((y << 8) | z).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? headParts : [...headParts, ...Array<string>(8 - headParts.length - tailParts.length).fill('0'), ...tailParts];
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}
