import { ConfigError, loadConfig } from '../src/config/config';

describe('gateway configuration', () => {
  it('defaults to the embedded ledger and embedded PostgreSQL on 127.0.0.1:3000', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      ledger: 'embedded',
      host: '127.0.0.1',
      port: 3000,
      databaseUrl: undefined,
    });
  });

  it('names every missing Fabric setting at start when LEDGER=fabric-gateway', () => {
    const attempt = () => loadConfig({ LEDGER: 'fabric-gateway' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/FABRIC_PEER_ENDPOINT/);
    expect(attempt).toThrow(/FABRIC_TLS_CERT/);
    expect(attempt).toThrow(/FABRIC_WALLET/);
  });

  it('names the connection profile for LEDGER=fabric-network', () => {
    expect(() => loadConfig({ LEDGER: 'fabric-network', FABRIC_WALLET: '/tmp/w' })).toThrow(
      /FABRIC_CONNECTION_PROFILE/,
    );
  });

  it('reports a bad value once, with the variable and the allowed values', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ LEDGER: 'besu', PORT: 'eighty' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error?.message).toMatch(/PORT/);
    expect(error?.message.match(/LEDGER/g)).toHaveLength(1);
    expect(error?.message).toMatch(/embedded, fabric-gateway, fabric-network/);
  });

  it('reads the per-key rate limits (writes 600, reads 3000 per minute by default; 0 turns one off)', () => {
    expect(loadConfig({})).toMatchObject({ rateLimitPerMinute: 600, rateLimitReadsPerMinute: 3000 });
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_READS_PER_MINUTE: '0' })).toMatchObject({
      rateLimitPerMinute: 5,
      rateLimitReadsPerMinute: 0,
    });
    expect(() => loadConfig({ RATE_LIMIT_PER_MINUTE: '-1' })).toThrow(/RATE_LIMIT_PER_MINUTE/);
    expect(() => loadConfig({ RATE_LIMIT_READS_PER_MINUTE: 'lots' })).toThrow(/RATE_LIMIT_READS_PER_MINUTE/);
  });

  it('reads the chain verification schedule (every 300 s, 2000 older blocks again per run; 0 turns either off)', () => {
    expect(loadConfig({})).toMatchObject({ chainVerifyIntervalS: 300, chainVerifySweepBlocks: 2000 });
    expect(loadConfig({ CHAIN_VERIFY_INTERVAL_S: '0', CHAIN_VERIFY_SWEEP_BLOCKS: '0' })).toMatchObject({
      chainVerifyIntervalS: 0,
      chainVerifySweepBlocks: 0,
    });
    expect(() => loadConfig({ CHAIN_VERIFY_INTERVAL_S: '5m' })).toThrow(/CHAIN_VERIFY_INTERVAL_S/);
    expect(() => loadConfig({ CHAIN_VERIFY_SWEEP_BLOCKS: '-1' })).toThrow(/CHAIN_VERIFY_SWEEP_BLOCKS/);
  });

  it('reads where people reach the gateway (PUBLIC_URL) and the public pages’ limit per address', () => {
    expect(loadConfig({})).toMatchObject({ publicUrl: undefined, publicRateLimitPerMinute: 60 });
    expect(
      loadConfig({ PUBLIC_URL: 'https://gec.example.cn/', PUBLIC_RATE_LIMIT_PER_MINUTE: '0' }),
    ).toMatchObject({ publicUrl: 'https://gec.example.cn', publicRateLimitPerMinute: 0 });
    expect(() => loadConfig({ PUBLIC_URL: 'gec.example.cn' })).toThrow(/PUBLIC_URL/);
    expect(() => loadConfig({ PUBLIC_URL: 'ftp://gec.example.cn' })).toThrow(/PUBLIC_URL/);
    expect(() => loadConfig({ PUBLIC_URL: 'https://gec.example.cn/?a=1' })).toThrow(/PUBLIC_URL/);
  });

  it('believes only the proxies TRUST_PROXY names about the client’s address', () => {
    expect(loadConfig({}).trustProxy).toBeUndefined();
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8, fd00::/8' }).trustProxy).toBe(
      'loopback,10.0.0.0/8,fd00::/8',
    );
    expect(() => loadConfig({ TRUST_PROXY: 'everyone' })).toThrow(/TRUST_PROXY.*everyone/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/TRUST_PROXY/);
  });

  describe('GEC_ORGANISATION: whose gateway this is', () => {
    const fabric = {
      LEDGER: 'fabric-gateway',
      FABRIC_PEER_ENDPOINT: '127.0.0.1:7051',
      FABRIC_TLS_CERT: '/tls/ca.crt',
      FABRIC_WALLET: '/wallets/GridMSP',
    };

    it('defaults to the development consortium (all) on the embedded ledger', () => {
      expect(loadConfig({}).organisation).toBe('all');
      expect(loadConfig({ GEC_ORGANISATION: ' TradingCenterMSP ' }).organisation).toBe('TradingCenterMSP');
    });

    it('accepts one member (a joined second trading center too) or all, and names the variable and the values otherwise', () => {
      for (const value of ['GridMSP', 'TradingCenterMSP', 'RegulatorMSP', 'TradingCenter2MSP', 'all']) {
        expect(loadConfig({ GEC_ORGANISATION: value }).organisation).toBe(value);
      }
      expect(() => loadConfig({ GEC_ORGANISATION: 'grid' })).toThrow(
        /GEC_ORGANISATION must be one of GridMSP, TradingCenterMSP, RegulatorMSP, TradingCenter2MSP, all \(got "grid"\)/,
      );
    });

    it('is required on a Fabric network, reported with every other problem', () => {
      let error: ConfigError | undefined;
      try {
        loadConfig({ ...fabric, PORT: 'eighty' });
      } catch (err) {
        error = err as ConfigError;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect(error?.problems).toEqual([
        expect.stringMatching(/^PORT/),
        expect.stringMatching(/^GEC_ORGANISATION is required with LEDGER=fabric-gateway/),
      ]);
      expect(loadConfig({ ...fabric, GEC_ORGANISATION: 'GridMSP' }).organisation).toBe('GridMSP');
      expect(loadConfig({ ...fabric, GEC_ORGANISATION: 'all' }).organisation).toBe('all');
    });

    it('reads Fabric events as the organisation’s client identity unless FABRIC_SERVICE_IDENTITY names its own', () => {
      const settings = (env: Record<string, string>) => loadConfig({ ...fabric, ...env }).ledgerSettings;
      expect(settings({ GEC_ORGANISATION: 'TradingCenterMSP' })?.serviceIdentity).toEqual({
        mspId: 'TradingCenterMSP',
        name: 'trading',
      });
      expect(settings({ GEC_ORGANISATION: 'all' })?.serviceIdentity).toEqual({
        mspId: 'GridMSP',
        name: 'platform',
      });
      expect(
        settings({ GEC_ORGANISATION: 'GridMSP', FABRIC_SERVICE_IDENTITY: 'GridMSP/admin' })?.serviceIdentity,
      ).toEqual({ mspId: 'GridMSP', name: 'admin' });
      expect(() =>
        loadConfig({
          ...fabric,
          GEC_ORGANISATION: 'GridMSP',
          FABRIC_SERVICE_IDENTITY: 'TradingCenterMSP/admin',
        }),
      ).toThrow(
        /FABRIC_SERVICE_IDENTITY TradingCenterMSP\/admin is an identity of TradingCenterMSP; this gateway is GridMSP's/,
      );
    });
  });

  it('keeps the ledger settings read from the same environment as the rest (not from process.env)', () => {
    const before = process.env.LEDGER;
    process.env.LEDGER = 'fabric-gateway';
    try {
      const config = loadConfig({ GEC_DATA_DIR: '/tmp/gec-config-test' });
      expect(config.ledger).toBe('embedded');
      expect(config.ledgerSettings).toMatchObject({
        ledger: 'embedded',
        dataDir: '/tmp/gec-config-test/ledger',
      });
    } finally {
      if (before === undefined) delete process.env.LEDGER;
      else process.env.LEDGER = before;
    }
  });
});
