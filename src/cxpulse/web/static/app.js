// Charts of the dashboard; every page works without this script.
// - Charts drawn on the server (a desktop and a phone drawing) are redrawn by vega-embed (our
//   own static copy, no CDN) from the same Vega-Lite spec, at the width of their column
//   (width "container"), which adds tooltips and keeps 13 px text at any width; if that
//   fails the server's SVG stays.
(function () {
  "use strict";
  var charts = document.querySelectorAll("[data-spec]");
  if (!charts.length) { return; }

  // The page's Content-Security-Policy allows no eval and no inline style, so Vega evaluates
  // its expressions with its interpreter (ast) instead of compiling them with Function(), and
  // neither vega-embed nor the tooltip adds a <style> element: their few rules are in
  // app.css and charts.css.
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
      // The drawing needs its box in the page to measure the container's width, so it is
      // made beside the server's SVG (hidden by charts.css until it is ready), which it
      // then replaces; vega-embed redraws it when the window is resized.
      var target = document.createElement("div");
      target.className = "chart-live";
      holder.appendChild(target);
      window.vegaEmbed(target, spec, EMBED_OPTIONS).then(function () {
        Array.prototype.slice.call(holder.children).forEach(function (child) {
          if (child !== target) { holder.removeChild(child); }
        });
        holder.setAttribute("data-enhanced", "true");
      }).catch(function () {
        if (target.parentNode === holder) { holder.removeChild(target); }
      });
    });
  }

  var script = document.createElement("script");
  script.src = "/static/vendor/vega-embed.js";
  script.onload = draw;
  document.head.appendChild(script);
})();
