/* The API docs page: Swagger UI's deep links are turned off before its start-up script runs.
   With them on, each operation's path is a link inside the operation's expand button: one
   control nested in another, which keyboards and screen readers cannot use as two (WCAG 4.1.2).
   Every other option stays the view's own (SPECTACULAR_SETTINGS). */
(function () {
  "use strict";

  var bundle = window.SwaggerUIBundle;
  if (typeof bundle !== "function") {
    return;
  }

  function withoutDeepLinks(options) {
    return bundle(Object.assign({}, options, { deepLinking: false }));
  }

  Object.keys(bundle).forEach(function (name) {
    withoutDeepLinks[name] = bundle[name];
  });
  window.SwaggerUIBundle = withoutDeepLinks;
})();
