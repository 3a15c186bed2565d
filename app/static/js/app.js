// Hjemmedialog: small progressive enhancements. Every page works without this file.
"use strict";

// Popover menus: tell assistive technology whether the menu is open.
document.querySelectorAll("[popovertarget]").forEach((button) => {
  const menu = document.getElementById(button.getAttribute("popovertarget"));
  if (!menu) return;
  button.setAttribute("aria-expanded", "false");
  menu.addEventListener("toggle", (event) => {
    button.setAttribute("aria-expanded", String(event.newState === "open"));
  });
});

// A part of a form that matters for one choice only (data-show-when="name=value") shows
// only while that choice is made. Without this script it always shows, and the server
// ignores it for the other choices.
document.querySelectorAll("[data-show-when]").forEach((part) => {
  const form = part.closest("form");
  const [name, value] = part.dataset.showWhen.split("=");
  if (!form) return;
  const update = () => {
    const chosen = form.querySelector(`input[name="${name}"]:checked`);
    part.hidden = !chosen || chosen.value !== value;
  };
  form.addEventListener("change", (event) => {
    if (event.target.name === name) update();
  });
  update();
});

// After an htmx swap, focus moves to the new content, so keyboard and screen reader users
// are where the change is: a field to fix, else an element marked for it
// (tabindex="-1"), else its first heading, else its first control. The button that made
// the swap is often gone, and focus would otherwise fall back to the start of the page.
let swapping = false;
document.addEventListener("htmx:beforeSwap", () => {
  swapping = true;
});
document.addEventListener("htmx:afterSettle", (event) => {
  if (!swapping) return;
  swapping = false;
  const root = event.target;
  if (!(root instanceof Element) || !root.isConnected) return;
  const visible = (e) => e && !e.closest("[hidden]");
  const pick = (selector) =>
    [...(root.matches(selector) ? [root] : []), ...root.querySelectorAll(selector)].find(visible);
  let target =
    pick('[aria-invalid="true"], .error-summary') ||
    pick('[tabindex="-1"]') ||
    pick("h1, h2, h3") ||
    pick("a[href], button, input:not([type=hidden]), select, textarea, summary");
  if (!target) return;
  if (target.matches("h1, h2, h3") && !target.hasAttribute("tabindex")) {
    target.setAttribute("tabindex", "-1");
  }
  target.focus();
});

// Print buttons (journal notes).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});

// Nothing stays on a shared device after log-out: the offline queue goes with the session.
const clearDevice = () => localStorage.removeItem("hjemmedialog.visit-queue");
document.querySelectorAll("form[data-logout]").forEach((form) => {
  form.addEventListener("submit", clearDevice);
});
if (document.body.dataset.loggedOut !== undefined) clearDevice();

// Installable, with an offline page.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}
