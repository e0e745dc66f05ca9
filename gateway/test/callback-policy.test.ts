/**
 * The callback policy (SSRF): which callback URLs are refused when they are given, and the look-up that
 * refuses internal addresses when a callback is delivered (a name that resolves inside: DNS rebinding).
 */
import { CallbackPolicy } from '../src/common/callback-policy';
import { loadConfig } from '../src/config/config';

describe('callback URLs', () => {
  const policy = new CallbackPolicy([]);

  it.each([
    ['http://169.254.169.254/latest/meta-data/', /https/],
    ['https://169.254.169.254/latest/meta-data/', /internal address \(169\.254\.169\.254\)/],
    ['https://127.0.0.1/cb', /internal/],
    ['https://127.1/cb', /internal/],
    ['https://0x7f.1/cb', /internal/],
    ['https://2130706433/cb', /internal/],
    ['https://0177.0.0.1/cb', /internal/],
    ['https://[::1]/cb', /internal/],
    ['https://[::ffff:127.0.0.1]/cb', /internal/],
    ['https://[::ffff:a9fe:a9fe]/cb', /internal/],
    ['https://[fe80::1]/cb', /internal/],
    ['https://[fd00::1]/cb', /internal/],
    ['https://0.0.0.0/cb', /internal/],
    ['https://10.1.2.3/cb', /internal/],
    ['https://172.20.0.1/cb', /internal/],
    ['https://192.168.1.1/cb', /internal/],
    ['https://100.64.0.1/cb', /internal/],
    ['https://localhost/cb', /localhost/],
    ['https://api.localhost./cb', /localhost/],
    ['https://user:secret@tc.example/cb', /user name or password/],
    ['http://tc.example/cb', /https/],
    ['ftp://tc.example/cb', /https/],
    ['not a url', /absolute URL/],
  ])('refuses %s', (url, reason) => {
    expect(policy.refusal(url)).toMatch(reason);
  });

  it('accepts https to a public name or address', () => {
    expect(policy.refusal('https://erp.tradingcenter.example/gec/trade-results')).toBeUndefined();
    expect(policy.refusal('https://203.0.113.10:8443/cb')).toBeUndefined();
  });

  it('allows the hosts and networks of CALLBACK_ALLOW, over http too', () => {
    const onPremises = new CallbackPolicy(['erp.internal', '10.20.0.0/16', '127.0.0.1']);
    expect(onPremises.refusal('http://erp.internal/cb')).toBeUndefined();
    expect(onPremises.refusal('http://10.20.3.4:8080/cb')).toBeUndefined();
    expect(onPremises.refusal('http://127.0.0.1:9999/cb')).toBeUndefined();
    expect(onPremises.refusal('https://10.21.0.1/cb')).toMatch(/internal/);
    expect(onPremises.refusal('http://user:pw@erp.internal/cb')).toMatch(/user name/);
  });

  it('refuses, at delivery, a name that resolves to an internal address', async () => {
    const resolved = (p: CallbackPolicy, host: string) =>
      new Promise<string>((resolve, reject) =>
        p.lookup(host, { all: false }, (error, address) =>
          error ? reject(error) : resolve(String(address)),
        ),
      );
    await expect(resolved(policy, 'localhost')).rejects.toThrow(/internal address: not called/);
    await expect(resolved(new CallbackPolicy(['localhost']), 'localhost')).resolves.toMatch(
      /^(127\.0\.0\.1|::1)$/,
    );
  });

  it('names a CALLBACK_ALLOW entry that is not a host, an address or a network at start', () => {
    expect(() => loadConfig({ CALLBACK_ALLOW: 'erp.internal, 10.0.0.0/33, not a host' })).toThrow(
      /CALLBACK_ALLOW entries must be host names, addresses or networks \(got 10\.0\.0\.0\/33, not a host\)/,
    );
  });
});
