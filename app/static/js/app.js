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

// Print buttons (journal notes).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
