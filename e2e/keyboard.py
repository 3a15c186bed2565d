"""Driving a page by keyboard alone: Tab to a control, check that focus shows, no trap."""

from __future__ import annotations

import re

from playwright.sync_api import Page

# What the focused element is, as a person hears it: its tag, accessible text and role.
FOCUSED = r"""() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const label = e.labels && e.labels[0] ? e.labels[0].innerText : "";
  return {
    tag: e.tagName.toLowerCase(),
    text: (e.getAttribute("aria-label") || label || e.innerText || e.value || "")
      .replace(/\s+/g, " ").trim(),
    id: e.id,
    inCard: e.closest(".visit-card")?.innerText || "",
  };
}"""

# Focus is visible: :focus-visible matches (for a date or time field, whose focus is on its
# parts inside it, :focus-within) and draws an outline or a ring.
FOCUS_SHOWN = """() => {
  const e = document.activeElement;
  const shown = ":focus-visible, input[type=date]:focus-within, input[type=time]:focus-within";
  if (!e || e === document.body || !e.matches(shown)) return false;
  const style = getComputedStyle(e);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  return outline || style.boxShadow !== "none";
}"""


def focused(page: Page) -> dict | None:
    return page.evaluate(FOCUSED)


def assert_focus_shown(page: Page) -> None:
    assert page.evaluate(FOCUS_SHOWN), f"focus not visible on {focused(page)} at {page.url}"


def tab_to(page: Page, text: str | re.Pattern, *, tag: str | None = None, back=False, most=80):
    """Press Tab (Shift+Tab with `back`) until the focused control's text matches; each
    control passed on the way shows its focus."""
    key = "Shift+Tab" if back else "Tab"
    for _ in range(most):
        page.keyboard.press(key)
        now = focused(page)
        if now is None:
            continue
        assert_focus_shown(page)
        said = now["text"]
        hit = text.search(said) if isinstance(text, re.Pattern) else said == text
        if hit and (tag is None or now["tag"] == tag):
            return now
    raise AssertionError(f"{text!r} not reached by {key} on {page.url}")


def no_trap(page: Page, most: int = 200) -> None:
    """From wherever focus is, Tab goes through the page and comes round to its start
    (the skip link), and Shift+Tab comes back to its end: nothing holds focus."""
    for key, end in (("Tab", "skip"), ("Shift+Tab", "footer")):
        seen = []
        for _ in range(most):
            page.keyboard.press(key)
            where = page.evaluate(
                """() => {
                  const e = document.activeElement;
                  if (!e || e === document.body) return "body";
                  if (e.classList.contains("skip-link")) return "skip";
                  return e.closest("footer") ? "footer" : "page";
                }"""
            )
            seen.append(where)
            if where == end and "page" in seen:
                break
        else:
            raise AssertionError(f"focus never reached the {end} with {key}: trapped? {page.url}")
