/* Rapport dashboard: a page's own controls kept in the address (dashboard/app.py, VIEW_CONTROLS). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  rapport: {
    /* A control "<page>-<key>" changed: write key=value into the query string in place
       (replaceState, no navigation, so the page is not built again) and hand the new query
       string to the shell's dcc.Location, which then finds the address already there. */
    keepInUrl: function (value) {
      const id = window.dash_clientside.callback_context.triggered[0].prop_id.split(".")[0];
      const key = id.slice(id.indexOf("-") + 1);
      const params = new URLSearchParams(window.location.search);
      if (value === null || value === undefined || value === "") {
        params.delete(key);
      } else {
        params.set(key, String(value));
      }
      const text = params.toString();
      const search = text ? "?" + text : "";
      if (search !== window.location.search) {
        window.history.replaceState(window.history.state, "", window.location.pathname + search + window.location.hash);
      }
      return search;
    },
  },
});

/* Accessibility repairs for Dash 4's own components, which the browser tests check with
   axe-core (tests/dashboard/test_browser.py). Each repair names the markup it fixes; React
   sets an attribute again only when its prop changes, so an observer re-applies them.
   - RadioItems renders role=listbox with role=option labels around real radio inputs
     (nested interactive controls, no name): made a named radiogroup of plain labels.
   - DatePickerRange puts aria-expanded/aria-haspopup on a plain div around its two inputs
     (each input has its own label): dropped.
   - Dropdown keeps an aria-hidden, focusable input as a focus target: taken out of the tab order.
   - Slider's thumb (role=slider) has no name: named after its control's label.
   - DataTable's page buttons are icons without text: named; its sideways-scrolling box is
     made reachable by keyboard. */
(function () {
  const PAGE_BUTTONS = {"first-page": "First page", "previous-page": "Previous page",
                        "next-page": "Next page", "last-page": "Last page"};

  function controlLabel(element) {
    const group = element.closest(".controls, .filter");
    const label = group && group.querySelector(".control-label, .filter-label");
    return label ? label.textContent.trim() : "";
  }

  function repair(root) {
    root.querySelectorAll(".dash-radioitems[role=listbox]").forEach(function (list) {
      list.setAttribute("role", "radiogroup");
    });
    root.querySelectorAll(".dash-radioitems[role=radiogroup]:not([aria-label])").forEach(function (list) {
      const name = controlLabel(list);
      if (name) list.setAttribute("aria-label", name);
    });
    root.querySelectorAll(".dash-radioitems label[role=option], .dash-radioitems label[aria-selected]")
      .forEach(function (label) {
        label.removeAttribute("role");
        label.removeAttribute("aria-selected");
      });
    root.querySelectorAll(".dash-datepicker-input-wrapper[aria-expanded], .dash-datepicker-input-wrapper[aria-haspopup]")
      .forEach(function (wrapper) {
        wrapper.removeAttribute("aria-expanded");
        wrapper.removeAttribute("aria-haspopup");
        wrapper.removeAttribute("aria-labelledby");
      });
    root.querySelectorAll(".dash-dropdown-focus-target[aria-hidden=true]:not([tabindex='-1'])").forEach(function (input) {
      input.setAttribute("tabindex", "-1");
    });
    root.querySelectorAll("[role=slider]:not([aria-label])").forEach(function (thumb) {
      const name = controlLabel(thumb);
      if (name) thumb.setAttribute("aria-label", name);
    });
    root.querySelectorAll(".dash-spreadsheet-container:not([tabindex])").forEach(function (box) {
      box.setAttribute("tabindex", "0");  // a table that scrolls sideways: reachable by keyboard
    });
    Object.keys(PAGE_BUTTONS).forEach(function (cls) {
      root.querySelectorAll("button." + cls + ":not([aria-label])").forEach(function (button) {
        button.setAttribute("aria-label", PAGE_BUTTONS[cls]);
      });
    });
  }

  let queued = false;
  function schedule() {
    if (queued) return;
    queued = true;
    window.requestAnimationFrame(function () {
      queued = false;
      repair(document);
    });
  }

  function start() {
    repair(document);
    new MutationObserver(schedule).observe(document.body, {
      childList: true, subtree: true, attributes: true,
      attributeFilter: ["role", "aria-selected", "aria-expanded", "aria-haspopup", "aria-hidden", "tabindex"],
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

/* plotly.js while the server draws a view with charts. Dash loads plotly.js (3.5 MB, about
   120 ms to run with a warm cache and most of a second on a first visit) only once the view's
   first chart arrives, after the view's figures are computed; on the views below it is
   fetched and run as soon as the shell is on screen, while the page router's request is
   with the server. dcc.Graph takes `window.Plotly` when it is set (`Promise.resolve`):
   until the script has run it finds a promise of it here, so plotly.js is never loaded twice. */
(function () {
  const CHARTS = /^\/dashboard\/(linkage|drivers|segments|report)?$/;  // the views that draw charts
  let frames = 0;

  function preload() {
    if (window.Plotly || !CHARTS.test(window.location.pathname)) return;
    const url = window._dashPlotlyJSURL;  // set by Dash's renderer when it starts
    if (!url || !document.getElementById("_pages_content")) {
      if (++frames < 120) window.requestAnimationFrame(preload);
      return;
    }
    const script = document.createElement("script");
    script.src = url;
    script.async = true;
    window.Plotly = new Promise(function (resolve, reject) {
      script.onload = function () { resolve(window.Plotly); };
      script.onerror = function (error) {
        window.Plotly = undefined;  // dcc.Graph loads it itself next time
        reject(error);
      };
    });
    document.body.appendChild(script);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", preload);
  } else {
    preload();
  }
})();
