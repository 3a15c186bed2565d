// An OpenID provider set up as ID-porten, for the end-to-end tests (e2e/test_idporten.py).
//
// The protocol is panva's oidc-provider, an independent OpenID Certified implementation;
// this file only configures it the way ID-porten behaves towards a client:
//   - authorization code flow with PKCE (S256 only), acr_values idporten-loa-high or
//     idporten-loa-substantial (a session at a lower level than asked for logs in again),
//     the `pid` claim (fødselsnummer), `acr` and `sid` in the ID token, pairwise `sub`,
//     `iss` in the authorization response (RFC 9207), RS256 ID tokens;
//   - the client authenticates with private_key_jwt (its public key is registered here);
//   - RP-initiated log-out (end_session), back-channel log-out (the library's own), and
//     front-channel log-out: after its log-out, the provider shows a page with a frame for
//     each other client's frontchannel_logout_uri?iss=..&sid=.. (oidc-provider has no
//     front-channel log-out of its own, so it is added here);
//   - a small log-in page of its own: a fødselsnummer field and a choice of level.
//
// Usage: node provider.mjs settings.json   (see the fixture in e2e/test_idporten.py)
// settings: { port, control_token, client: { client_id, redirect_uri,
//   post_logout_redirect_uri, frontchannel_logout_uri, backchannel_logout_uri, jwks,
//   token_endpoint_auth_signing_alg } }
//
// The tests steer it through POST /_test/configure (JSON, with the control token):
//   { "frontchannel": bool, "backchannel": bool }  which log-out channels the client has
//                                                   registered;
//   { "rotate": "new-kid" }   sign with a new key under a new key id (the old one stays
//                             published);
//   { "rotate": "same-kid" }  replace the signing key, keeping its key id.
// Each change builds a new Provider with the same sessions (the in-memory store is shared).

import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${settings.port}`;
const LEVELS = [
  ['idporten-loa-high', 'Høyt'],
  ['idporten-loa-substantial', 'Betydelig'],
];
const cookieKeys = [randomBytes(32).toString('hex')];
const pairwiseSalt = randomBytes(16).toString('hex');

function log(event, details = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...details })}\n`);
}

function signingKey(kid = randomBytes(8).toString('hex')) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
}

const state = {
  keys: [signingKey()],
  frontchannel: true,
  backchannel: true,
};

// --- pages (Norwegian, accessible: language, title, heading, labels) -------------------

const escape = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html>
<html lang="nb">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} – ID-porten (test)</title>
<style>
body { font-family: sans-serif; margin: 0; color: #1a1a1a; background: #fff; }
header { background: #0062ba; color: #fff; padding: 0.75rem 1rem; font-weight: bold; }
main { max-width: 32rem; margin: 1rem auto; padding: 0 1rem; }
.field { margin: 1rem 0; }
label { display: block; font-weight: bold; }
fieldset label { display: inline; font-weight: normal; }
input[type=text] { font-size: 1.1rem; padding: 0.4rem; width: 100%; max-width: 16rem; }
.hint { margin: 0.2rem 0; color: #4a4a4a; }
.error { color: #b00020; font-weight: bold; }
button { font-size: 1rem; padding: 0.5rem 1rem; margin: 0.5rem 0.5rem 0 0; }
iframe { border: 1px solid #767676; width: 100%; height: 4rem; }
</style>
</head>
<body>
<header>ID-porten (test)</header>
<main>
${body}
</main>
</body>
</html>`;
}

function loginPage(uid, { pid = '', error = '' } = {}) {
  const described = error ? 'pid-hint pid-error' : 'pid-hint';
  return page('Logg inn', `<h1>Logg inn</h1>
<p>Testutgave av ID-porten. Skriv fødselsnummeret og velg sikkerhetsnivå.</p>
<form method="post" action="/interaction/${escape(uid)}/login" novalidate>
  <div class="field">
    <label for="pid">Fødselsnummer</label>
    <p class="hint" id="pid-hint">11 siffer</p>
    ${error ? `<p class="error" id="pid-error">${escape(error)}</p>` : ''}
    <input type="text" id="pid" name="pid" inputmode="numeric" autocomplete="off"
      value="${escape(pid)}" aria-describedby="${described}"${error ? ' aria-invalid="true"' : ''}>
  </div>
  <fieldset class="field">
    <legend>Sikkerhetsnivå</legend>
    ${LEVELS.map(([value, name], index) => `<div>
      <input type="radio" id="acr-${index}" name="acr" value="${value}"${index === 0 ? ' checked' : ''}>
      <label for="acr-${index}">${name} (${value})</label>
    </div>`).join('\n    ')}
  </fieldset>
  <button type="submit">Logg inn</button>
  <button type="submit" name="cancel" value="1">Avbryt</button>
</form>`);
}

async function logoutSource(ctx, form) {
  ctx.type = 'html';
  ctx.body = page('Logg ut', `<h1>Logg ut</h1>
<p>Du logges ut av ID-porten og av tjenestene du har brukt med ID-porten.</p>
${form.replace('</form>', '<button type="submit" name="logout" value="yes">Logg ut</button></form>')}`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  ctx.body = page('Logget ut', '<h1>Du er logget ut av ID-porten</h1>');
}

function frontChannelPage(frames, next) {
  return page('Logget ut', `<h1>Du er logget ut av ID-porten</h1>
<p>Tjenestene du har brukt, får beskjed om at du er logget ut:</p>
${frames.map(({ url, name }) => `<iframe src="${escape(url)}" title="Utlogging fra ${escape(name)}"></iframe>`).join('\n')}
<p><a href="${escape(next)}">Gå videre</a></p>`);
}

async function renderError(ctx, out, error) {
  log('error page', { ...out, message: error?.message });
  ctx.type = 'html';
  ctx.body = page('Feil', `<h1>Noe gikk galt</h1>
<p>${escape(out.error)}: ${escape(out.error_description)}</p>`);
}

// --- the provider ------------------------------------------------------------------

async function loadExistingGrant(ctx) {
  // First-party client, as with ID-porten: no consent page; the grant is made at once.
  const { oidc } = ctx;
  const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
  const existing = grantId && (await oidc.provider.Grant.find(grantId));
  if (existing) return existing;
  const grant = new oidc.provider.Grant({
    clientId: oidc.client.clientId,
    accountId: oidc.session.accountId,
  });
  grant.addOIDCScope('openid');
  await grant.save();
  return grant;
}

function loginPolicy() {
  const { Check, base } = interactionPolicy;
  const policy = base();
  // ID-porten: a session at a lower level than the one asked for logs in again.
  policy.get('login').checks.add(new Check(
    'idporten_level',
    'the level asked for needs a new log-in',
    (ctx) => {
      const { oidc } = ctx;
      // Not for a log-in just made: the level chosen on the page is what the client gets
      // (so a client that asked for high can be shown a lower level, and must refuse it).
      if (!oidc.session.accountId || oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
      const wanted = String(oidc.params.acr_values || '').split(' ');
      if (wanted.includes('idporten-loa-high') && oidc.session.acr !== 'idporten-loa-high') {
        return Check.REQUEST_PROMPT;
      }
      return Check.NO_NEED_TO_PROMPT;
    },
  ));
  return policy;
}

function clientMetadata() {
  const { client } = settings;
  return {
    client_id: client.client_id,
    client_name: 'Hjemmedialog',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: client.token_endpoint_auth_signing_alg,
    jwks: client.jwks,
    redirect_uris: [client.redirect_uri],
    post_logout_redirect_uris: [client.post_logout_redirect_uri],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    id_token_signed_response_alg: 'RS256',
    subject_type: 'pairwise',
    ...(state.backchannel ? {
      backchannel_logout_uri: client.backchannel_logout_uri,
      backchannel_logout_session_required: true,
    } : {}),
    ...(state.frontchannel ? {
      frontchannel_logout_uri: client.frontchannel_logout_uri,
      frontchannel_logout_session_required: true,
    } : {}),
  };
}

function build() {
  const provider = new Provider(issuer, {
    clients: [clientMetadata()],
    jwks: { keys: state.keys },
    acrValues: LEVELS.map(([value]) => value),
    scopes: ['openid'],
    claims: {
      openid: ['sub', 'pid'], acr: null, amr: null, sid: null, auth_time: null, iss: null,
    },
    conformIdTokenClaims: false, // pid in the ID token, as ID-porten does
    subjectTypes: ['pairwise'],
    pairwiseIdentifier(ctx, accountId, client) {
      return createHash('sha256')
        .update(`${client.sectorIdentifier}:${accountId}:${pairwiseSalt}`)
        .digest('base64url');
    },
    async findAccount(ctx, accountId) {
      return { accountId, claims: async () => ({ sub: accountId, pid: accountId }) };
    },
    pkce: { methods: ['S256'], required: () => true },
    clientAuthMethods: ['private_key_jwt'],
    extraClientMetadata: {
      properties: ['frontchannel_logout_uri', 'frontchannel_logout_session_required'],
    },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    },
    interactions: {
      policy: loginPolicy(),
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    loadExistingGrant,
    renderError,
    cookies: {
      keys: cookieKeys,
      long: { signed: true, sameSite: 'lax' },
      short: { signed: true, sameSite: 'lax' },
    },
  });

  // ID-porten puts `sid` in every ID token, whichever log-out channels the client has.
  provider.Client.prototype.includeSid = () => true;

  provider.use(interactions(provider));
  provider.use(frontChannel(provider));

  provider.on('end_session.success', (ctx) => {
    // Which other clients' sessions ended with this one (front-channel, below).
    const { session } = ctx.oidc;
    const initiator = session.state?.clientId;
    ctx.state.frontchannel = Object.keys(session.authorizations || {})
      .filter((clientId) => clientId !== initiator)
      .map((clientId) => ({ clientId, sid: session.sidFor(clientId) }));
  });
  for (const event of ['server_error', 'authorization.error', 'grant.error',
    'end_session.error', 'backchannel.error', 'backchannel.success', 'grant.success',
    'authorization.success', 'end_session.success']) {
    provider.on(event, (ctx, ...rest) => log(event, {
      path: ctx?.path,
      error: rest.find((item) => item instanceof Error)?.message,
    }));
  }
  return provider;
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16384) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function interactions(provider) {
  return async (ctx, next) => {
    const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(ctx.path);
    if (!match) return next();
    const [, uid, submit] = match;
    ctx.set('Cache-Control', 'no-store');
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');

    if (details.prompt.name !== 'login') {
      // Consent: first-party client, granted in loadExistingGrant; just go on.
      await provider.interactionFinished(ctx.req, ctx.res, { consent: {} });
      ctx.respond = false;
      return undefined;
    }
    if (!submit || ctx.method !== 'POST') {
      ctx.type = 'html';
      ctx.body = loginPage(uid);
      return undefined;
    }
    const form = await readForm(ctx.req);
    if (form.get('cancel')) {
      await provider.interactionFinished(ctx.req, ctx.res, {
        error: 'access_denied', error_description: 'Innloggingen ble avbrutt',
      }, { mergeWithLastSubmission: false });
      ctx.respond = false;
      return undefined;
    }
    const pid = String(form.get('pid') || '').replace(/\s/g, '');
    if (!/^\d{11}$/.test(pid)) {
      ctx.status = 422;
      ctx.type = 'html';
      ctx.body = loginPage(uid, {
        pid: form.get('pid'), error: 'Fødselsnummeret må ha 11 siffer.',
      });
      return undefined;
    }
    const levels = LEVELS.map(([value]) => value);
    const acr = levels.includes(form.get('acr')) ? form.get('acr') : levels[0];
    log('login', { acr });
    await provider.interactionFinished(ctx.req, ctx.res, {
      login: { accountId: pid, acr, amr: ['TestID'], remember: true },
    }, { mergeWithLastSubmission: false });
    ctx.respond = false;
    return undefined;
  };
}

function frontChannel(provider) {
  // After the provider's own end_session, show each other client's front-channel log-out
  // address in a frame, then let the person go on to where the log-out would have led.
  return async (ctx, next) => {
    await next();
    const ended = ctx.state.frontchannel;
    if (!ended?.length || ctx.status !== 303) return;
    const frames = [];
    for (const { clientId, sid } of ended) {
      const client = await provider.Client.find(clientId);
      const uri = client?.frontchannel_logout_uri;
      if (uri) {
        const url = new URL(uri);
        url.searchParams.set('iss', provider.issuer);
        url.searchParams.set('sid', sid);
        frames.push({ url: url.href, name: client.clientName || clientId });
      }
    }
    if (!frames.length) return;
    const next_ = ctx.response.get('Location');
    ctx.remove('Location');
    ctx.status = 200;
    ctx.type = 'html';
    ctx.body = frontChannelPage(frames, next_);
    log('frontchannel', { frames: frames.map(({ url }) => url) });
  };
}

let provider = build();
let handle = provider.callback();

async function control(req, res) {
  const answer = (status, body) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method !== 'POST' || req.url !== '/_test/configure'
    || req.headers['x-control-token'] !== settings.control_token) {
    answer(404, { error: 'not found' });
    return;
  }
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const change = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  if (typeof change.frontchannel === 'boolean') state.frontchannel = change.frontchannel;
  if (typeof change.backchannel === 'boolean') state.backchannel = change.backchannel;
  if (change.rotate === 'new-kid') {
    state.keys = [signingKey(), ...state.keys];
  } else if (change.rotate === 'same-kid') {
    state.keys = [signingKey(state.keys[0].kid), ...state.keys.slice(1)];
  }
  provider = build();
  handle = provider.callback();
  log('configured', {
    frontchannel: state.frontchannel,
    backchannel: state.backchannel,
    kids: state.keys.map((key) => key.kid),
  });
  answer(200, { kids: state.keys.map((key) => key.kid) });
}

const server = createServer((req, res) => {
  if (req.url.startsWith('/_test/')) {
    control(req, res).catch((error) => {
      log('control error', { error: error.message });
      res.writeHead(500);
      res.end();
    });
    return;
  }
  handle(req, res);
});
server.listen(settings.port, '127.0.0.1', () => log('listening', { issuer }));
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
