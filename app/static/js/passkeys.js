// Passkeys (WebAuthn): log in without a username, and add a passkey on the settings page.
// The server sends options and takes answers as JSON with base64url bytes. Without this
// script, or in a browser without passkeys, the forms post plainly and the server explains.
"use strict";

(() => {
  const fromB64 = (text) => {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  };
  const toB64 = (buffer) => {
    let raw = "";
    new Uint8Array(buffer).forEach((b) => {
      raw += String.fromCharCode(b);
    });
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const csrf = () => JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  // JSON in and out; an options request sends no body.
  const post = async (url, body) => {
    const headers = { Accept: "application/json", "X-CSRFToken": csrf() };
    if (body) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers,
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, data };
  };
  const supported = () =>
    typeof window.PublicKeyCredential === "function" && !!navigator.credentials;

  const show = (form, text) => {
    const box = form.querySelector("[data-passkey-message]");
    box.textContent = text;
    box.hidden = false;
  };

  const descriptors = (list) => (list || []).map((d) => ({ ...d, id: fromB64(d.id) }));

  const answer = (credential) => {
    const r = credential.response;
    const json = {
      id: credential.id,
      rawId: toB64(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toB64(r.clientDataJSON) },
    };
    if (r.attestationObject) {
      json.response.attestationObject = toB64(r.attestationObject);
      json.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      json.response.authenticatorData = toB64(r.authenticatorData);
      json.response.signature = toB64(r.signature);
      if (r.userHandle) json.response.userHandle = toB64(r.userHandle);
    }
    return json;
  };

  const run = (form, ceremony) => {
    let busy = false;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!supported()) {
        show(form, form.dataset.unsupported);
        return;
      }
      if (busy) return;
      busy = true;
      try {
        const message = await ceremony(form);
        if (message) show(form, message);
      } catch (error) {
        show(form, form.dataset.failed);
      } finally {
        busy = false;
      }
    });
  };

  // Log in: the authenticator offers the passkeys it holds for this site.
  document.querySelectorAll("form[data-passkey-login]").forEach((form) =>
    run(form, async () => {
      const options = await post(form.dataset.optionsUrl);
      if (!options.ok) return options.data.message || form.dataset.failed;
      const o = options.data;
      const credential = await navigator.credentials.get({
        publicKey: {
          ...o,
          challenge: fromB64(o.challenge),
          allowCredentials: descriptors(o.allowCredentials),
        },
      });
      const next = form.querySelector("input[name=next]");
      const result = await post(form.action, {
        credential: answer(credential),
        next: next ? next.value : "",
      });
      if (!result.ok) return result.data.message || form.dataset.failed;
      window.location.assign(result.data.redirect);
      return null;
    })
  );

  // Add a passkey: named first, then made by the authenticator.
  document.querySelectorAll("form[data-passkey-register]").forEach((form) =>
    run(form, async () => {
      const name = form.querySelector("input[name=name]").value.trim();
      if (!name) return form.dataset.nameMissing;
      const options = await post(form.dataset.optionsUrl);
      if (!options.ok) return form.dataset.failed;
      const o = options.data;
      const credential = await navigator.credentials.create({
        publicKey: {
          ...o,
          challenge: fromB64(o.challenge),
          user: { ...o.user, id: fromB64(o.user.id) },
          excludeCredentials: descriptors(o.excludeCredentials),
        },
      });
      const result = await post(form.action, { name, credential: answer(credential) });
      if (!result.ok) return result.data.message || form.dataset.failed;
      window.location.assign(result.data.redirect);
      return null;
    })
  );
})();
