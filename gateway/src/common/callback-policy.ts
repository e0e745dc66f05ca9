import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Where the gateway may send callbacks (a trade's final state), so that a callback URL cannot make it call into
 * its own network (SSRF): HTTPS only; no credentials in the URL; no loopback, private, link-local (cloud metadata
 * at 169.254.169.254), shared, multicast or unspecified addresses, in any spelling (the WHATWG URL parser turns
 * `0x7f.1`, `2130706433` and `127.1` into `127.0.0.1`; IPv4-mapped IPv6 is checked as IPv4). Names are checked
 * when the URL is given and the resolved addresses again at delivery, in the very look-up the connection uses
 * (DNS rebinding). `CALLBACK_ALLOW` lists hosts and networks of an on-premises deployment that are allowed
 * anyway (and may use plain HTTP): `erp.internal,10.20.0.0/16,127.0.0.1`.
 */
export class CallbackPolicy {
  private readonly forbidden = new BlockList();
  private readonly allowedNets = new BlockList();
  private readonly allowedHosts = new Set<string>();

  constructor(allow: readonly string[]) {
    for (const [net, prefix] of [
      ['0.0.0.0', 8],
      ['10.0.0.0', 8],
      ['100.64.0.0', 10],
      ['127.0.0.0', 8],
      ['169.254.0.0', 16],
      ['172.16.0.0', 12],
      ['192.0.0.0', 24],
      ['192.168.0.0', 16],
      ['198.18.0.0', 15],
      ['224.0.0.0', 4],
      ['240.0.0.0', 4],
    ] as const) {
      this.forbidden.addSubnet(net, prefix, 'ipv4');
    }
    for (const [net, prefix] of [
      ['::', 128],
      ['::1', 128],
      ['64:ff9b::', 96],
      ['fc00::', 7],
      ['fe80::', 10],
      ['ff00::', 8],
    ] as const) {
      this.forbidden.addSubnet(net, prefix, 'ipv6');
    }
    for (const entry of allow) {
      const [address, bits] = entry.split('/');
      const family = isIP(address);
      if (family === 0) this.allowedHosts.add(entry.toLowerCase().replace(/\.$/, ''));
      else if (bits === undefined) this.allowedNets.addAddress(address, family === 4 ? 'ipv4' : 'ipv6');
      else this.allowedNets.addSubnet(address, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  /** `CALLBACK_ALLOW` entries that are not a host name, an address or a network: for the config check. */
  static invalidEntries(allow: readonly string[]): string[] {
    return allow.filter((entry) => {
      const [address, bits, extra] = entry.split('/');
      const family = isIP(address);
      if (family === 0)
        return (
          bits !== undefined ||
          !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(entry)
        );
      if (bits === undefined) return false;
      const n = Number(bits);
      return extra !== undefined || !Number.isInteger(n) || n < 0 || n > (family === 4 ? 32 : 128);
    });
  }

  /** Whether an address may be called: allowed by CALLBACK_ALLOW, or in none of the forbidden ranges. */
  addressAllowed(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (this.allowedNets.check(address, type)) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    if (mapped) return this.addressAllowed(mapped);
    return !this.forbidden.check(address, type);
  }

  private hostAllowListed(hostname: string): boolean {
    const host = hostname.toLowerCase().replace(/\.$/, '');
    const literal = host.replace(/^\[|\]$/g, '');
    return (
      this.allowedHosts.has(host) ||
      (isIP(literal) !== 0 && this.allowedNets.check(literal, isIP(literal) === 4 ? 'ipv4' : 'ipv6'))
    );
  }

  /** Why `url` may not be a callback URL, or undefined when it may. */
  refusal(url: string): string | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'callbackUrl must be an absolute URL';
    }
    const listed = this.hostAllowListed(parsed.hostname);
    if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && listed)) {
      return 'callbackUrl must be https (plain http only for hosts in CALLBACK_ALLOW)';
    }
    if (parsed.username || parsed.password) return 'callbackUrl must not carry a user name or password';
    if (listed) return undefined;
    const host = parsed.hostname.toLowerCase().replace(/\.$/, '');
    const literal = host.replace(/^\[|\]$/g, '');
    if (host === 'localhost' || host.endsWith('.localhost')) {
      return 'callbackUrl must not point at this machine (localhost)';
    }
    if (isIP(literal) !== 0 && !this.addressAllowed(literal)) {
      return `callbackUrl must not point at a loopback, private, link-local or otherwise internal address (${literal})`;
    }
    return undefined;
  }

  /**
   * A `lookup` for http(s).request: resolves as dns.lookup does, then refuses the connection when any address is
   * not allowed (the connection uses exactly the addresses checked here).
   */
  readonly lookup: LookupFunction = (hostname: string, options: LookupOptions, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
    const opts = { family, all: options.all === true };
    dnsLookup(hostname, { family: opts.family ?? 0, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const listed = this.hostAllowListed(hostname);
      const refused = addresses.find((a) => !listed && !this.addressAllowed(a.address));
      if (refused) {
        return callback(
          new Error(
            `callback host ${hostname} resolves to ${refused.address}, an internal address: not called`,
          ),
          '',
          0,
        );
      }
      if (opts.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}
