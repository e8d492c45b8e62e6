// Enhancements of the dashboard; every page works without this script.
// - Charts drawn on the server are redrawn by vega-embed (our own static copy, no CDN) from
//   the same Vega-Lite spec, which adds tooltips; if that fails the server's SVG stays.
(function () {
  "use strict";
  var charts = document.querySelectorAll("[data-spec]");
  if (!charts.length) { return; }

  // The page's Content-Security-Policy allows no eval and no inline style, so Vega evaluates
  // its expressions with its interpreter (ast) instead of compiling them with Function(), and
  // neither vega-embed nor the tooltip adds a <style> element: their few rules are in app.css.
  var EMBED_OPTIONS = {
    actions: false,
    renderer: "svg",
    ast: true,
    defaultStyle: false,
    tooltip: { disableDefaultStyle: true }
  };

  function draw() {
    if (typeof window.vegaEmbed !== "function") { return; }
    Array.prototype.forEach.call(charts, function (holder) {
      var source = document.getElementById(holder.getAttribute("data-spec"));
      if (!source) { return; }
      var spec;
      try { spec = JSON.parse(source.textContent); } catch (error) { return; }
      var target = document.createElement("div");
      window.vegaEmbed(target, spec, EMBED_OPTIONS).then(function () {
        holder.replaceChildren(target);
        holder.setAttribute("data-enhanced", "true");
      }).catch(function () { /* keep the server's SVG */ });
    });
  }

  var script = document.createElement("script");
  script.src = "/static/vendor/vega-embed.js";
  script.onload = draw;
  document.head.appendChild(script);
})();
