// Mine besøk i dag: "Registrer utført" works without network.
//
// A registration is put in a queue on the device first (only the visit's id, the time
// and an idempotency key: no names, no health text), then sent. If the network is
// gone, it waits and is sent when the network returns. The server answers the same
// key with the first result, so sending it again is harmless. The queue is emptied on
// log-out (see app.js).
//
// A registration can be undone for a short while (Angre): the server says until when, and
// the card's undo form shows until then. Angre itself is an htmx form that answers with
// the card again; focus then moves to what happened, in the new card.
"use strict";

(() => {
  const KEY = "hjemmedialog.visit-queue";
  const token = () => {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
    } catch (error) {
      return "";
    }
  };
  const load = () => {
    try {
      return JSON.parse(localStorage.getItem(KEY) || "[]");
    } catch (error) {
      return [];
    }
  };
  const save = (queue) => localStorage.setItem(KEY, JSON.stringify(queue));
  const remove = (key) => save(load().filter((item) => item.key !== key));

  const card = (visit) => document.querySelector(`.visit-card[data-visit="${visit}"]`);
  // Each visit shows exactly one state: to do (the button), waiting, done, or failed.
  // Focus that was on the card's button moves to the line that replaces it.
  const show = (visit, state, label) => {
    const element = card(visit);
    if (!element) return;
    const active = document.activeElement;
    const hadFocus = element.contains(active);
    const form = element.querySelector("form.register-visit");
    if (form) form.hidden = state !== "ready";
    for (const name of ["waiting", "done", "failed"]) {
      const line = element.querySelector(`.visit-${name}`);
      if (line) line.hidden = name !== state;
    }
    const done = element.querySelector(".visit-done");
    if (done && state === "done" && label) done.textContent = label;
    const now = element.querySelector(`.visit-${state}`);
    if (hadFocus && now && active.closest("[hidden]")) now.focus();
  };
  // Angre: shown until the time the server gave, then gone (the server refuses it later).
  const offerUndo = (element, until, label) => {
    const form = element?.querySelector("form.visit-undo");
    if (!form || !until) return;
    const left = new Date(until) - Date.now();
    if (!(left > 0)) return;
    if (label) form.querySelector(".visit-undo-until").textContent = label;
    form.hidden = false;
    setTimeout(() => {
      if (!form.contains(document.activeElement)) form.hidden = true;
    }, left);
  };
  const offerEveryUndo = (root) => {
    root.querySelectorAll("form.visit-undo[data-undo-until]").forEach((form) => {
      offerUndo(form.closest(".visit-card"), form.dataset.undoUntil);
    });
  };
  const offlineNote = () => {
    const note = document.getElementById("offline-note");
    if (note) note.hidden = navigator.onLine;
  };

  let running = null;
  async function send() {
    for (const item of load()) {
      let response;
      try {
        response = await fetch(item.url, {
          method: "POST",
          credentials: "same-origin",
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json",
            "Idempotency-Key": item.key,
            "X-CSRFToken": token(),
          },
          body: JSON.stringify({ registered_at: item.registered_at }),
        });
      } catch (error) {
        show(item.visit, "waiting"); // no network: try again when it returns
        return;
      }
      if (response.ok) {
        remove(item.key);
        let answer = {};
        try {
          answer = await response.json();
        } catch (error) {
          answer = {};
        }
        show(item.visit, "done", answer.label || "");
        offerUndo(card(item.visit), answer.undo_until, answer.undo_label);
      } else if (response.status >= 500 || response.status === 401) {
        show(item.visit, "waiting"); // try again later (or after logging in again)
        return;
      } else {
        remove(item.key); // refused for good (422, 409, 404): say so
        show(item.visit, "failed");
      }
    }
  }
  function replay() {
    if (!running) {
      running = send().finally(() => {
        running = null;
      });
    }
    return running;
  }

  // On the document, so a card that htmx puts in again registers the same way.
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form.register-visit");
    if (!form) return;
    event.preventDefault();
    const queue = load();
    const visit = form.dataset.visit;
    if (!queue.some((item) => item.visit === visit)) {
      queue.push({
        key: crypto.randomUUID(),
        visit,
        url: form.action,
        registered_at: new Date().toISOString(),
      });
      save(queue);
    }
    show(visit, "waiting");
    replay();
  });

  // After Angre the card is new: focus what happened to it (its tabindex="-1" message).
  document.body.addEventListener("htmx:afterSettle", (event) => {
    const swapped = document.getElementById(event.detail.target?.id || "");
    if (!swapped || !swapped.classList.contains("visit-card")) return;
    offerEveryUndo(swapped);
    swapped.querySelector('[tabindex="-1"]:not([hidden])')?.focus();
  });

  offerEveryUndo(document);
  for (const item of load()) show(item.visit, "waiting");
  window.addEventListener("online", () => {
    offlineNote();
    replay();
  });
  window.addEventListener("offline", offlineNote);
  offlineNote();
  if (navigator.onLine) replay();
  window.hjemmedialogVisits = { replay, pending: () => load().length };
})();
