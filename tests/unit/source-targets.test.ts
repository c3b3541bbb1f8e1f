import { describe, expect, it } from 'vitest';
import { checkTarget, guardedLookup, refusedAddressReason, refusedHostReason, TargetRefusedError } from '../../db/outbound/targets.ts';

// The address rule of outbound calls (docs/api.md §10): what a policy source (and later a webhook) may call.

const host = (url: string) => new URL(url).hostname;

describe('refusedAddressReason: IP addresses', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.255', 'CGNAT'],
    ['169.254.169.254', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'documentation'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique local'],
    ['fd00::1', 'unique local'],
    ['fdff:ffff::1', 'unique local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:A9FE:A9FE', 'link-local'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:0:192.168.0.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b:1::1', 'NAT64'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:c0a8:101::1', 'private'],
    ['2001:db8::1', 'documentation'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
  ])('%s is refused (%s)', (address, reason) => {
    expect(refusedAddressReason(address)).toContain(reason);
  });

  it.each(['8.8.8.8', '1.1.1.1', '20.190.128.1', '100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.0', '169.253.0.1', '192.169.0.1', '2606:4700::1111', '2a01:111:f100::1', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:808:808::1', 'fbff::1', 'fe7f::1'])(
    '%s is public',
    (address) => {
      expect(refusedAddressReason(address)).toBeNull();
    },
  );

  it('a name is not judged here (its addresses are, when connecting)', () => {
    expect(refusedAddressReason('graph.microsoft.com')).toBeNull();
  });
});

describe('refusedHostReason and checkTarget: URLs in every form', () => {
  it.each([
    'http://127.0.0.1/',
    'http://127.1/',
    'http://0x7f.1/',
    'http://0x7f000001/',
    'http://2130706433/',
    'http://017700000001/',
    'http://0177.0.0.1/',
    'http://127.0.0.1.:8080/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::1]:3000/x',
    'http://[0:0:0:0:0:0:0:1]/',
    'http://169.254.169.254/latest/meta-data',
    'http://[fd00::1]/',
    'http://localhost/',
    'http://LOCALHOST./',
    'http://api.localhost/',
    'http://0/',
    'http://10.0.0.1/',
    'https://192.168.0.10/graph',
    'http://[::]/',
    'http://0.0.0.0/',
    'http://3232235777/', // 192.168.1.1
  ])('%s is refused', (url) => {
    const check = checkTarget(url, { allowPrivate: false });
    expect(check.ok, url).toBe(false);
    if (!check.ok) expect(check.message).toMatch(/^refused private address/);
    expect(refusedHostReason(host(url))).not.toBeNull();
  });

  it.each(['https://graph.microsoft.com/beta', 'https://8.8.8.8/', 'http://[2606:4700::1111]/', 'https://example.com:8443/a/b'])('%s is allowed', (url) => {
    expect(checkTarget(url, { allowPrivate: false })).toMatchObject({ ok: true });
  });

  it('ALLOW_PRIVATE_TARGETS lets private hosts through, but never other schemes or user info', () => {
    expect(checkTarget('http://127.0.0.1:4000/', { allowPrivate: true })).toMatchObject({ ok: true });
    expect(checkTarget('file:///etc/passwd', { allowPrivate: true })).toMatchObject({ ok: false });
    expect(checkTarget('ftp://example.com/', { allowPrivate: true })).toMatchObject({ ok: false });
    expect(checkTarget('https://user:secret@example.com/', { allowPrivate: true })).toMatchObject({ ok: false, message: expect.stringContaining('user name') });
    expect(checkTarget('not a url', { allowPrivate: true })).toMatchObject({ ok: false });
  });
});

describe('guardedLookup: the addresses a name resolves to, when connecting', () => {
  const resolve = (name: string, allowPrivate: boolean, all = false) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: unknown }>((done) => {
      guardedLookup({ allowPrivate })(name, { all }, (error, address) => done({ error, address }));
    });

  it('refuses a name that resolves to loopback (localhost), unless private targets are allowed', async () => {
    const refused = await resolve('localhost', false);
    expect(refused.error).toBeInstanceOf(TargetRefusedError);
    expect(refused.error!.message).toMatch(/^refused private address: localhost/);
    const allowed = await resolve('localhost', true);
    expect(allowed.error).toBeNull();
    expect(['127.0.0.1', '::1']).toContain(allowed.address);
    const all = await resolve('localhost', true, true);
    expect(Array.isArray(all.address)).toBe(true);
  });

  it('an IP literal handed to the lookup is judged too', async () => {
    expect((await resolve('127.0.0.1', false)).error).toBeInstanceOf(TargetRefusedError);
  });
});
