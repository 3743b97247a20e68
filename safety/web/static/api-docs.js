// Starts Swagger UI (served from the swagger-ui-bundle package) on the API's OpenAPI
// document, named by the page in data-spec-url: no inline script (docs/web.md).
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,  // the public validator is another origin: never called
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
});
