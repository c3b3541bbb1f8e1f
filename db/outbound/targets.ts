// The address rule for outbound calls (policy sources and webhooks): a target is an http(s) URL whose
// host — and every address it resolves to when the connection is made — is a public unicast address.
// Loopback, link-local, private, shared (CGNAT), unique-local, multicast and reserved addresses are refused,
// also when written in odd forms (127.1, 0x7f.1, 2130706433, [::ffff:127.0.0.1]) or reached through DNS,
// unless the operator allows private targets (ALLOW_PRIVATE_TARGETS, for tests and on-premises APIs).
import { lookup as dnsLookup, promises as dnsPromises, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, isIPv4, type LookupFunction } from 'node:net';

/** A refused connection: the name resolved to (or was) an address the rule does not allow. */
export class TargetRefusedError extends Error {
  override name = 'TargetRefusedError';
  readonly code = 'ETARGETREFUSED';
  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super(`refused private address: ${host} is ${reason}`);
  }
}

type V4Range = [base: number, prefix: number, reason: string];

const v4 = (dotted: string): number => dotted.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);

const V4_RANGES: V4Range[] = [
  [v4('0.0.0.0'), 8, 'an unspecified ("this network") address'],
  [v4('10.0.0.0'), 8, 'a private address'],
  [v4('100.64.0.0'), 10, 'a shared (CGNAT) address'],
  [v4('127.0.0.0'), 8, 'a loopback address'],
  [v4('169.254.0.0'), 16, 'a link-local address'],
  [v4('172.16.0.0'), 12, 'a private address'],
  [v4('192.0.0.0'), 24, 'a reserved address'],
  [v4('192.0.2.0'), 24, 'a documentation address'],
  [v4('192.168.0.0'), 16, 'a private address'],
  [v4('198.18.0.0'), 15, 'a reserved (benchmarking) address'],
  [v4('198.51.100.0'), 24, 'a documentation address'],
  [v4('203.0.113.0'), 24, 'a documentation address'],
  [v4('224.0.0.0'), 4, 'a multicast address'],
  [v4('240.0.0.0'), 4, 'a reserved address'], // includes 255.255.255.255
];

function v4Reason(value: number): string | null {
  for (const [base, prefix, reason] of V4_RANGES) {
    const size = 2 ** (32 - prefix);
    if (value >= base && value < base + size) return reason;
  }
  return null;
}

/** An IPv6 literal (no brackets, no zone) as its eight 16-bit groups; null when not one. */
function v6Groups(address: string): number[] | null {
  let text = address;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // An embedded IPv4 tail (::ffff:127.0.0.1) becomes the last two groups.
    const dotted = text.slice(lastColon + 1);
    if (!isIPv4(dotted)) return null;
    const n = v4(dotted);
    tail = [Math.floor(n / 65536), n % 65536];
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...rest];
  if (tail.length === 2) groups.splice(6, 2, ...tail);
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

const embeddedV4 = (high: number, low: number) => high * 65536 + low;

function v6Reason(groups: number[]): string | null {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const zeroTo = (n: number) => groups.slice(0, n).every((g) => g === 0);
  if (zeroTo(8)) return 'an unspecified address';
  if (zeroTo(7) && g7 === 1) return 'a loopback address';
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses are the IPv4 address they carry.
  if (zeroTo(5) && g5 === 0xffff) return v4Reason(embeddedV4(g6, g7));
  if (zeroTo(4) && g4 === 0xffff && g5 === 0) return v4Reason(embeddedV4(g6, g7)); // IPv4-translated (SIIT)
  if (zeroTo(6)) return v4Reason(embeddedV4(g6, g7));
  // NAT64 (64:ff9b::a.b.c.d) reaches the IPv4 address it carries; the local-use prefix 64:ff9b:1::/48 is private.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return v4Reason(embeddedV4(g6, g7));
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return 'a private (local-use NAT64) address';
  // 6to4 (2002:aabb:ccdd::/48) reaches the IPv4 address aa.bb.cc.dd.
  if (g0 === 0x2002) return v4Reason(embeddedV4(g1, g2));
  if (g0 === 0x2001 && g1 === 0) return 'a Teredo tunnel address';
  if (g0 === 0x2001 && g1 === 0xdb8) return 'a documentation address';
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) return 'a reserved (discard) address';
  if ((g0 & 0xfe00) === 0xfc00) return 'a unique local (private) address';
  if ((g0 & 0xffc0) === 0xfe80) return 'a link-local address';
  if ((g0 & 0xffc0) === 0xfec0) return 'a site-local (private) address';
  if ((g0 & 0xff00) === 0xff00) return 'a multicast address';
  return null;
}

/**
 * Why an IP address may not be called ("a loopback address", …), or null for a public unicast address.
 * Takes canonical literals as DNS answers them (127.0.0.1, ::1, fe80::1%eth0, [::1]); not an IP → null.
 */
export function refusedAddressReason(address: string): string | null {
  const bare = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return v4Reason(v4(bare));
  if (family === 6) {
    const groups = v6Groups(bare.toLowerCase());
    return groups ? v6Reason(groups) : 'not a valid address';
  }
  return null;
}

/**
 * Why a URL's host may not be called, judged without DNS: IP literals in every form the WHATWG URL parser
 * accepts (it turns 127.1, 0x7f.1 and 2130706433 into 127.0.0.1) and `localhost` names. Names are judged
 * again, by their addresses, when a connection is made (see guardedLookup).
 */
export function refusedHostReason(hostname: string): string | null {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase().replace(/\.+$/, '');
  if (isIP(host)) return refusedAddressReason(host);
  if (host === 'localhost' || host.endsWith('.localhost')) return 'a loopback name';
  return null;
}

export type TargetCheck = { ok: true; url: URL } | { ok: false; message: string };

/**
 * The rule for a URL before it is stored or called: http(s), no user info (credentials go elsewhere), and
 * a host that is not private (unless allowed). `message` says what is wrong, for a 400 or a failure.
 */
export function checkTarget(raw: string, options: { allowPrivate: boolean }): TargetCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: 'must be an absolute http:// or https:// URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, message: 'must be an http:// or https:// URL' };
  if (url.username || url.password) return { ok: false, message: 'must not carry a user name or password' };
  if (!url.hostname) return { ok: false, message: 'must name a host' };
  if (!options.allowPrivate) {
    const reason = refusedHostReason(url.hostname);
    if (reason) return { ok: false, message: `refused private address: ${url.hostname} is ${reason} (set ALLOW_PRIVATE_TARGETS=true to allow)` };
  }
  return { ok: true, url };
}

/**
 * A `lookup` for sockets (net.connect, http.Agent) that resolves every address of the name and refuses the
 * connection when any of them is private, so a name cannot be re-pointed at an inside address after it was
 * checked (DNS rebinding). IP literals never reach a lookup: checkTarget judges those before connecting.
 */
export function guardedLookup(options: { allowPrivate: boolean }): LookupFunction {
  return (hostname: string, lookupOptions: LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      if (!options.allowPrivate) {
        const hostReason = refusedHostReason(hostname);
        if (hostReason) return callback(new TargetRefusedError(hostname, hostReason), []);
        for (const { address } of addresses) {
          const reason = refusedAddressReason(address);
          if (reason) return callback(new TargetRefusedError(`${hostname} (${address})`, reason), []);
        }
      }
      if (addresses.length === 0) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
      if (lookupOptions.all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

/**
 * Judges a name by what it resolves to now (for a URL being stored: the connection is judged again when made).
 * Null when every address is allowed; else why not — one of them is private, or the name does not resolve.
 */
export async function resolvedHostRefusal(hostname: string, options: { allowPrivate: boolean; timeoutMs?: number }): Promise<string | null> {
  if (options.allowPrivate) return null;
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host)) return refusedAddressReason(host);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), options.timeoutMs ?? 5_000)));
  try {
    const answer = await Promise.race([dnsPromises.lookup(host, { all: true }), timeout]);
    if (answer === 'timeout') return `${host} did not resolve in time`;
    for (const { address } of answer) {
      const reason = refusedAddressReason(address);
      if (reason) return `refused private address: ${host} resolves to ${reason} (set ALLOW_PRIVATE_TARGETS=true to allow)`;
    }
    return answer.length === 0 ? `${host} does not resolve` : null;
  } catch {
    return `${host} does not resolve`;
  } finally {
    clearTimeout(timer);
  }
}
