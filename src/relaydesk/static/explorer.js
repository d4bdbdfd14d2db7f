/* The REST v2 explorer's "Try it" form (templates/_api_try.html): a GET from this browser to
   /api/v2/<endpoint>.json with "Authorization: Token <token>", showing the status and the
   pretty-printed JSON. The token is kept in sessionStorage only (this tab, until it closes). */
(function () {
  "use strict";
  var KEY = "relaydesk.apiToken";
  var form = document.getElementById("try-form");
  if (!form) return;
  var endpoint = document.getElementById("try-endpoint");
  var query = document.getElementById("try-query");
  var token = document.getElementById("try-token");
  var status = document.getElementById("try-status");
  var output = document.getElementById("try-response");
  var button = form.querySelector("button[type=submit]");

  function stored() {
    try { return window.sessionStorage.getItem(KEY) || ""; } catch (e) { return ""; }
  }
  function store(value) {
    try { window.sessionStorage.setItem(KEY, value); } catch (e) { /* private mode: fine */ }
  }
  function clean(value) {
    // a pasted "Token rd_…" or "Bearer rd_…" header value works too
    return value.trim().replace(/^(token|bearer)\s+/i, "");
  }
  function show(text, ok) {
    status.textContent = text;
    status.className = ok ? "ok" : "failed";
  }

  if (!token.value) token.value = stored();

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var key = clean(token.value);
    if (!key) {
      show("Enter your API token first.", false);
      output.hidden = true;
      token.focus();
      return;
    }
    store(key);
    var qs = query.value.trim().replace(/^\?/, "");
    var url = "/api/v2/" + encodeURIComponent(endpoint.value) + ".json" + (qs ? "?" + qs : "");
    show("Sending GET " + url + " …", true);
    button.disabled = true;
    fetch(url, {
      method: "GET",
      headers: { "Authorization": "Token " + key, "Accept": "application/json" },
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      return response.text().then(function (body) {
        var pretty = body;
        try { pretty = JSON.stringify(JSON.parse(body), null, 2); } catch (e) { /* not JSON */ }
        show("GET " + url + " → " + response.status + " " + response.statusText, response.ok);
        output.textContent = pretty;
        output.hidden = false;
      });
    }).catch(function (error) {
      show("GET " + url + " failed: " + error, false);
      output.hidden = true;
    }).finally(function () {
      button.disabled = false;
    });
  });
})();
