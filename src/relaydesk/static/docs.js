/* /docs: Swagger UI (vendored in /static/vendor/swagger-ui-dist) over /openapi.json.
   No external requests: the validator badge is off (validatorUrl null). */
(function () {
  "use strict";
  // v3 starts with the JWT exchange and "who am I": listed first, the rest in document order
  var FIRST = ["jwts", "me"];
  function rank(tag) {
    var i = FIRST.indexOf(tag);
    return i === -1 ? FIRST.length : i;
  }
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") return;
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url") || "/openapi.json",
    domNode: root,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    persistAuthorization: true,
    tryItOutEnabled: true,
    displayRequestDuration: true,
    tagsSorter: function (a, b) { return rank(a) - rank(b); },
    validatorUrl: null
  });
})();
