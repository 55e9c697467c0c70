// A relying party built on openid-client 6 (a certified, strict OpenID client).
// Usage: node rp.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI
// Prints {"authorization_url": ...}, reads the callback URL on stdin, then prints the
// validated ID token claims, the UserInfo answer and the refreshed token's claims.
import * as client from 'openid-client';
import { createInterface } from 'node:readline';

const [issuer, clientId, clientSecret, redirectUri] = process.argv.slice(2);

async function readLine() {
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) { rl.close(); return line.trim(); }
  throw new Error('no callback URL on stdin');
}

try {
  const config = await client.discovery(
    new URL(issuer), clientId, {}, client.ClientSecretBasic(clientSecret),
    { execute: [client.allowInsecureRequests] },
  );
  // Validate the ID token's signature through the JWKS, not only over TLS.
  client.enableNonRepudiationChecks(config);

  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email peps',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  console.log(JSON.stringify({ authorization_url: url.href }));

  const callback = new URL(await readLine());
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  console.log(JSON.stringify({
    claims,
    userinfo,
    refreshed_claims: refreshed.claims() ?? null,
    rotated: refreshed.refresh_token !== tokens.refresh_token,
  }));
} catch (error) {
  console.log(JSON.stringify({ error: String(error), code: error.code ?? null, cause: String(error.cause ?? '') }));
  process.exit(1);
}
