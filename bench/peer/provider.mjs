// The peer of `make bench`: panva's oidc-provider, set up like this provider for the rows
// the bench measures (discovery, JWKS, client_credentials with opaque and JWT access
// tokens, refresh with rotation and an ID token). One process, storage in memory.
//
// Environment: PORT (loopback only), BENCH_CLIENT_SECRET. On standard input the bench
// writes `mint N FILE`: N fresh refresh tokens are written to FILE, one a line, then
// `minted N` is printed, so that each refresh request of a round uses its own token.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const secret = process.env.BENCH_CLIENT_SECRET;
if (!port || !secret) {
  throw new Error('PORT and BENCH_CLIENT_SECRET are required');
}
const issuer = `http://127.0.0.1:${port}`;
const RESOURCE = 'urn:bench:api';
const ACCOUNT = 'bench-user';

// A Map without eviction: the library's own memory adapter is an LRU of 1,000 entries,
// which would drop the refresh tokens minted ahead of a round. A bench lasts minutes, so
// expiry is left to the models' own checks.
const store = new Map();
const grants = new Map();

class MemoryAdapter {
  constructor(name) {
    this.name = name;
  }

  key(id) {
    return `${this.name}:${id}`;
  }

  async upsert(id, payload) {
    const key = this.key(id);
    store.set(key, payload);
    if (payload.grantId) {
      if (!grants.has(payload.grantId)) grants.set(payload.grantId, new Set());
      grants.get(payload.grantId).add(key);
    }
    if (payload.uid) store.set(`uid:${payload.uid}`, key);
    if (payload.userCode) store.set(`userCode:${payload.userCode}`, key);
  }

  async find(id) {
    return store.get(this.key(id));
  }

  async findByUid(uid) {
    const key = store.get(`uid:${uid}`);
    return key ? store.get(key) : undefined;
  }

  async findByUserCode(userCode) {
    const key = store.get(`userCode:${userCode}`);
    return key ? store.get(key) : undefined;
  }

  async consume(id) {
    const payload = store.get(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of grants.get(grantId) ?? []) store.delete(key);
    grants.delete(grantId);
  }
}

const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const client = (clientId, extra) => ({
  client_id: clientId,
  client_secret: secret,
  token_endpoint_auth_method: 'client_secret_basic',
  redirect_uris: [],
  response_types: [],
  ...extra,
});

const provider = new Provider(issuer, {
  adapter: MemoryAdapter,
  jwks: { keys: [{ ...jwk, kid: 'bench', alg: 'RS256', use: 'sig' }] },
  clients: [
    client('cc-opaque', { grant_types: ['client_credentials'] }),
    client('cc-jwt', { grant_types: ['client_credentials'] }),
    client('rp', {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/callback'],
    }),
  ],
  findAccount: async (_ctx, accountId) => ({
    accountId,
    claims: async () => ({ sub: accountId }),
  }),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // JWT access tokens need a resource server (RFC 8707) whose format is 'jwt'.
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx, c) => (c.clientId === 'cc-jwt' ? RESOURCE : undefined),
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, _resource, c) => ({
        scope: 'api',
        audience: RESOURCE,
        accessTokenTTL: 600,
        accessTokenFormat: c.clientId === 'cc-jwt' ? 'jwt' : 'opaque',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 600,
    ClientCredentials: 600,
    IdToken: 600,
    RefreshToken: 30 * 24 * 3600,
    Grant: 30 * 24 * 3600,
  },
});

async function mint(count, file) {
  const rp = await provider.Client.find('rp');
  const grant = new provider.Grant({ accountId: ACCOUNT, clientId: 'rp' });
  grant.addOIDCScope('openid offline_access');
  const grantId = await grant.save();
  const authTime = Math.floor(Date.now() / 1000);
  const values = [];
  for (let i = 0; i < count; i += 1) {
    const token = new provider.RefreshToken({
      accountId: ACCOUNT,
      client: rp,
      grantId,
      gty: 'authorization_code',
      scope: 'openid offline_access',
      authTime,
      expiresWithSession: false,
    });
    values.push(await token.save());
  }
  writeFileSync(file, `${values.join('\n')}\n`);
  return values.length;
}

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${issuer}\n`);
});

createInterface({ input: process.stdin }).on('line', async (line) => {
  const [command, count, file] = line.trim().split(' ');
  if (command === 'mint') {
    process.stdout.write(`minted ${await mint(Number(count), file)}\n`);
  }
}).on('close', () => server.close());
