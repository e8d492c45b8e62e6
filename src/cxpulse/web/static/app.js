// Charts of the dashboard; every page works without this script.
// - Charts drawn on the server (a desktop drawing inline, a phone drawing as an image) are
//   redrawn by vega-embed (our own static copy, no CDN) from the same Vega-Lite spec, at the
//   width of their column (width "container"), which adds tooltips and keeps 13 px text at
//   any width; if that fails the server's drawings stay.
(function () {
  "use strict";
  var charts = document.querySelectorAll("[data-spec]");
  if (!charts.length) { return; }

  // With scripting on, charts.css shows the inline desktop drawing on a phone too until it
  // is redrawn here, so a phone does not fetch the phone image that the redrawing replaces;
  // a chart that cannot be redrawn gets its phone image back.
  function fallBack(holder) { holder.setAttribute("data-fallback", ""); }

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
    if (typeof window.vegaEmbed !== "function") {
      Array.prototype.forEach.call(charts, fallBack);
      return;
    }
    Array.prototype.forEach.call(charts, function (holder) {
      var source = document.getElementById(holder.getAttribute("data-spec"));
      if (!source) { fallBack(holder); return; }
      var spec;
      try { spec = JSON.parse(source.textContent); } catch (error) { fallBack(holder); return; }
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
        fallBack(holder);
      });
    });
  }

  var script = document.createElement("script");
  script.src = "/static/vendor/vega-embed.js";
  script.onload = draw;
  script.onerror = function () { Array.prototype.forEach.call(charts, fallBack); };
  document.head.appendChild(script);
})();
