/*
 * cxpulse feedback widget. Embed with:
 *
 *   <script src="https://cx.example/widget.js" data-survey="acme/support-csat" async></script>
 *
 * Optional attributes: data-lang="sv" (else the browser's languages), data-position
 * ("bottom-right", the default, or "bottom-left"), data-properties='{"plan": "pro"}'.
 *
 * It talks only to the server it was loaded from, sets no cookies and keeps nothing in
 * localStorage; a closed or answered prompt stays away for the browser tab's session
 * (sessionStorage). Its markup and styles live in a Shadow DOM, apart from the page's.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) {
    // Browsers without currentScript: the last widget tag not yet started.
    var tags = document.querySelectorAll("script[data-survey]:not([data-cxpulse-started])");
    script = tags.length ? tags[tags.length - 1] : null;
  }
  if (!script || script.hasAttribute("data-cxpulse-started")) return;
  script.setAttribute("data-cxpulse-started", "");

  var survey = (script.getAttribute("data-survey") || "").trim();
  var parts = survey.split("/");
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    warn('data-survey must be "organisation/survey", got "' + survey + '"');
    return;
  }
  // The API lives beside the script: https://cx.example/prefix/widget.js -> .../prefix/
  var base = new URL(".", script.src);
  var promptUrl = new URL(
    "w/" + encodeURIComponent(parts[0]) + "/" + encodeURIComponent(parts[1]),
    base
  );
  var answerUrl = new URL(promptUrl.pathname + "/responses", base);
  var lang = script.getAttribute("data-lang");
  if (lang) promptUrl.searchParams.set("lang", lang);
  var position = script.getAttribute("data-position") === "bottom-left" ? "left" : "right";
  var properties = readProperties(script.getAttribute("data-properties"));
  var storageKey = "cxpulse-widget:" + survey;

  if (remembered()) return;

  fetch(promptUrl.href, { credentials: "omit", mode: "cors" })
    .then(function (reply) {
      if (!reply.ok) throw new Error("the survey is not available here (" + reply.status + ")");
      return reply.json();
    })
    .then(function (config) {
      var start = function () { show(config); };
      if (document.body) start();
      else document.addEventListener("DOMContentLoaded", start);
    })
    .catch(function (error) {
      // A refused site gets no CORS header, so the browser only says "failed to fetch".
      warn(error instanceof TypeError
        ? "cannot load the survey; is " + window.location.origin +
          " among its allowed origins? (" + error.message + ")"
        : error.message);
    });

  function warn(message) {
    if (window.console) window.console.warn("cxpulse widget: " + message);
  }

  function readProperties(text) {
    if (!text) return null;
    try {
      var value = JSON.parse(text);
      if (value && typeof value === "object" && !Array.isArray(value)) return value;
    } catch (error) { /* reported below */ }
    warn("data-properties must be a JSON object; ignored");
    return null;
  }

  function remembered() {
    try { return window.sessionStorage.getItem(storageKey) !== null; }
    catch (error) { return false; } // storage blocked: ask again, no harm
  }

  function remember(state) {
    try { window.sessionStorage.setItem(storageKey, state); } catch (error) { /* blocked */ }
  }

  function randomKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text !== undefined) node.textContent = text; // never innerHTML: texts are data
    return node;
  }

  var STYLE = [
    ":host { all: initial !important; }",
    ".panel { position: fixed; bottom: 16px; z-index: 2147483000; box-sizing: border-box;",
    "  width: 440px; max-width: calc(100vw - 32px); max-height: calc(100vh - 32px);",
    "  overflow: auto; padding: 16px 18px 18px; background: #ffffff; color: #1b1b1b;",
    "  border: 1px solid #6b6b6b; border-radius: 10px;",
    "  box-shadow: 0 6px 24px rgba(0, 0, 0, 0.25);",
    "  font: 16px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;",
    "  text-align: left; direction: ltr; }",
    ".panel.right { right: 16px; } .panel.left { left: 16px; }",
    "h2 { margin: 0 36px 12px 0; font-size: 17px; font-weight: 600; color: #1b1b1b; }",
    "fieldset { margin: 0; padding: 0; border: 0; min-width: 0; }",
    "legend { padding: 0; margin: 0 0 8px; font-size: 15px; }",
    ".sr { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0;",
    "  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }",
    ".scale { display: grid; grid-template-columns: repeat(var(--count), 1fr); gap: 4px; }",
    ".scale input { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }",
    // min-width 0 and breaking anywhere: a grid cell never grows past its share of the panel.
    ".scale label { display: flex; align-items: center; justify-content: center;",
    "  box-sizing: border-box; min-height: 44px; min-width: 0; padding: 2px;",
    "  border: 1px solid #6b6b6b; border-radius: 6px; background: #f4f4f4; color: #1b1b1b;",
    "  cursor: pointer; font-size: 16px; line-height: 1.2; text-align: center;",
    "  overflow-wrap: anywhere; user-select: none; }",
    ".scale label:hover { background: #e2e8f5; }",
    ".scale input:checked + label { background: var(--accent, #0b4fbf); border-color: var(--accent, #0b4fbf);",
    "  color: #ffffff; font-weight: 600; }",
    ".scale input:focus-visible + label { outline: 3px solid var(--accent, #0b4fbf); outline-offset: 2px; }",
    ".anchors { display: flex; justify-content: space-between; gap: 12px;",
    "  margin-top: 4px; font-size: 13px; color: #444444; }",
    ".scale label.face { flex-direction: column; gap: 2px; font-size: 22px; }",
    // Stars: one per button, filled up to the chosen one (:has() where supported).
    ".scale.stars label { color: #6b6b6b; }",
    ".scale.stars input:checked + label, .scale.stars label:has(~ input:checked) {",
    "  background: #fff4dc; border-color: #8a5a00; color: #8a5a00; }",
    ".scale.stars input:checked + label { border-color: var(--accent, #0b4fbf); border-width: 2px; }",
    // Scales with words (emoji, thumbs, agreement) are a list: words beside their face.
    ".scale.worded, .scale.worded.wide { grid-template-columns: 1fr; }",
    ".scale.worded label { flex-direction: row; justify-content: flex-start; gap: 10px;",
    "  padding: 4px 10px; text-align: left; }",
    ".scale.worded label .words { font-size: 15px; }",
    ".scale.worded input:checked + label .words { color: #ffffff; }",
    ".consent { display: flex; align-items: center; gap: 8px; min-height: 32px;",
    "  margin-top: 12px; font-size: 15px; }",
    ".consent input { flex: none; width: 20px; height: 20px; margin: 0; accent-color: var(--accent, #0b4fbf); }",
    ".consent input:focus-visible { outline: 3px solid var(--accent, #0b4fbf); outline-offset: 2px; }",
    ".reasons { margin-top: 12px; }",
    ".reasons legend { font-size: 15px; margin-bottom: 4px; }",
    ".reason { display: flex; align-items: center; gap: 8px; min-height: 32px; }",
    ".reason input { width: 20px; height: 20px; margin: 0; accent-color: var(--accent, #0b4fbf); }",
    ".reason input:focus-visible { outline: 3px solid var(--accent, #0b4fbf); outline-offset: 2px; }",
    "[hidden] { display: none !important; }",
    "label.comment { display: block; margin: 14px 0 4px; font-size: 15px; }",
    "textarea { box-sizing: border-box; width: 100%; min-height: 72px; padding: 8px;",
    "  font: inherit; color: #1b1b1b; background: #ffffff; border: 1px solid #6b6b6b;",
    "  border-radius: 6px; resize: vertical; }",
    ".actions { display: flex; align-items: center; gap: 12px; margin-top: 14px; }",
    "button { font: inherit; cursor: pointer; border-radius: 6px; }",
    "button.send { min-height: 44px; padding: 0 20px; background: var(--accent, #0b4fbf); color: #ffffff;",
    "  border: 1px solid var(--accent, #0b4fbf); font-weight: 600; }",
    "button.send:hover { background: var(--accent-dark, #083b8f); }",
    "button.close { position: absolute; top: 8px; right: 8px; width: 36px; height: 36px;",
    "  background: transparent; color: #1b1b1b; border: 1px solid transparent;",
    "  font-size: 22px; line-height: 1; }",
    "button.close:hover { border-color: #6b6b6b; }",
    "button:focus-visible, textarea:focus-visible {",
    "  outline: 3px solid var(--accent, #0b4fbf); outline-offset: 2px; }",
    ".message { margin: 0; font-size: 15px; }",
    ".message.error { color: #a4161a; }",
    "@media (max-width: 480px) {",
    "  .panel, .panel.left, .panel.right { left: 8px; right: 8px; bottom: 8px; width: auto;",
    "    max-width: none; padding: 14px; }",
    "  .scale.wide:not(.worded) { grid-template-columns: repeat(6, 1fr); }",
    "}",
    "@media (prefers-reduced-motion: no-preference) {",
    "  .panel { animation: rise 160ms ease-out; }",
    "  @keyframes rise { from { transform: translateY(12px); opacity: 0; } }",
    "}",
  ].join("\n");

  // A constructed style sheet, where the browser has them: it is no inline style for the
  // site's Content-Security-Policy, so the prompt keeps its looks on sites that allow none.
  // Older browsers get a <style> element in the Shadow DOM.
  function addStyle(root) {
    if ("adoptedStyleSheets" in root && typeof window.CSSStyleSheet === "function") {
      try {
        var sheet = new window.CSSStyleSheet();
        sheet.replaceSync(STYLE);
        root.adoptedStyleSheets = [sheet];
        return;
      } catch (error) { /* fall back below */ }
    }
    var style = element("style");
    style.textContent = STYLE;
    root.appendChild(style);
  }

  function show(config) {
    var host = element("div", { "data-cxpulse-widget": survey });
    var root = host.attachShadow({ mode: "open" });
    addStyle(root);

    var headingId = "cxpulse-question";
    var panel = element("section", {
      "class": "panel " + position,
      "role": "region",
      "aria-labelledby": headingId,
      "lang": config.language,
    });
    // The organisation's accent colour (its settings), checked again here since it goes into
    // a style: a custom property set through the CSSOM, which a strict site policy allows.
    var colour = /^#[0-9a-f]{6}$/;
    if (colour.test(config.accent || "") && colour.test(config.accent_dark || "")) {
      panel.style.setProperty("--accent", config.accent);
      panel.style.setProperty("--accent-dark", config.accent_dark);
    }
    var close = element("button", {
      "type": "button", "class": "close", "aria-label": config.texts.close,
    }, "\u00D7");
    var heading = element("h2", { id: headingId }, config.question);
    var form = element("form", { novalidate: "" });

    var fieldset = element("fieldset");
    var legend = element("legend", { "class": "sr" }, config.question);
    // The organisation's own question where it wrote none in this language: marked as such.
    if (config.question_language && config.question_language !== config.language) {
      heading.setAttribute("lang", config.question_language);
      legend.setAttribute("lang", config.question_language);
    }
    var worded = config.choices.some(function (choice) { return !!choice.words; });
    var scale = element("div", {
      "class": "scale" + (config.values.length > 7 ? " wide" : "") +
        (worded ? " worded" : "") + (config.presentation === "stars" ? " stars" : ""),
    });
    // Through the CSSOM, not a style attribute: a site whose Content-Security-Policy allows
    // no inline style refuses the attribute but not this.
    scale.style.setProperty("--count", String(config.values.length));
    var faces = config.presentation !== "numbers";
    config.choices.forEach(function (choice) {
      var id = "cxpulse-score-" + choice.value;
      var input = element("input", {
        type: "radio", name: "score", id: id, value: String(choice.value),
      });
      if (config.anchors) input.setAttribute("aria-describedby", "cxpulse-anchors");
      var label = element("label", { "for": id, "class": faces ? "face" : "" });
      // Stars and emoji are pictures: screen readers get the words of the label instead.
      label.appendChild(element("span", { "aria-hidden": "true" }, choice.face));
      if (choice.words) {
        label.appendChild(element("span", { "class": "words", "aria-hidden": "true" },
          choice.words));
      }
      label.appendChild(element("span", { "class": "sr" }, choice.label));
      input.addEventListener("change", function () { showReasons(choice.low); });
      scale.appendChild(input);
      scale.appendChild(label);
    });
    fieldset.appendChild(legend);
    fieldset.appendChild(scale);
    if (config.anchors) {
      var anchors = element("div", { "class": "anchors", id: "cxpulse-anchors" });
      anchors.appendChild(element("span", {}, config.scale.low + " = " + config.labels.low));
      anchors.appendChild(element("span", {}, config.scale.high + " = " + config.labels.high));
      fieldset.appendChild(anchors);
    }
    form.appendChild(fieldset);

    // "What went wrong?": shown only after a low score, as on the survey pages.
    var reasons = null;
    if (config.reasons.length) {
      reasons = element("fieldset", { "class": "reasons", hidden: "" });
      reasons.appendChild(element("legend", {},
        config.texts.reasons + " " + config.texts.reasons_hint));
      config.reasons.forEach(function (reason, n) {
        var row = element("div", { "class": "reason" });
        var box = element("input", {
          type: "checkbox", name: "reasons", id: "cxpulse-reason-" + n, value: reason,
        });
        row.appendChild(box);
        row.appendChild(element("label", { "for": "cxpulse-reason-" + n }, reason));
        reasons.appendChild(row);
      });
      form.appendChild(reasons);
    }

    // "May we contact you about this?": after a low score, and only when the site says who
    // the visitor is (data-properties); an anonymous visitor could not be contacted.
    var consent = null;
    if (config.consent && properties) {
      consent = element("div", { "class": "consent", hidden: "" });
      var consentBox = element("input", {
        type: "checkbox", name: "contact_ok", id: "cxpulse-contact-ok", value: "yes",
      });
      consent.appendChild(consentBox);
      consent.appendChild(element("label", { "for": "cxpulse-contact-ok" }, config.consent));
      form.appendChild(consent);
    }

    function showReasons(low) {
      if (reasons) reasons.hidden = !low;
      if (consent) consent.hidden = !low;
    }

    var comment = null;
    if (config.comment) {
      var prompt = element("label", { "for": "cxpulse-comment", "class": "comment" },
        config.comment_prompt);
      if (config.comment_prompt_language &&
          config.comment_prompt_language !== config.language) {
        prompt.setAttribute("lang", config.comment_prompt_language);
      }
      form.appendChild(prompt);
      comment = element("textarea", {
        id: "cxpulse-comment", name: "comment", maxlength: String(config.max_comment_length),
      });
      form.appendChild(comment);
    }
    var actions = element("div", { "class": "actions" });
    var send = element("button", { type: "submit", "class": "send" }, config.texts.send);
    var status = element("p", { "class": "message", role: "status", "aria-live": "polite" });
    actions.appendChild(send);
    actions.appendChild(status);
    form.appendChild(actions);

    panel.appendChild(close);
    panel.appendChild(heading);
    panel.appendChild(form);
    root.appendChild(panel);
    document.body.appendChild(host);

    var key = randomKey();
    var sending = false;

    function dismiss(state) {
      remember(state);
      host.remove();
    }

    close.addEventListener("click", function () { dismiss("closed"); });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.stopPropagation();
        dismiss("closed");
      }
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (sending) return;
      var chosen = form.querySelector("input[name=score]:checked");
      if (!chosen) {
        status.className = "message error";
        status.textContent = config.texts.choose;
        form.querySelector("input[name=score]").focus();
        return;
      }
      var body = {
        score: Number(chosen.value),
        comment: comment && comment.value.trim() ? comment.value : null,
        language: config.language,
        // Without query and fragment: they often hold order numbers, emails or tokens.
        page: window.location.origin + window.location.pathname,
        key: key,
      };
      if (properties) body.properties = properties;
      if (consent && !consent.hidden) {
        body.contact_ok = consent.querySelector("input").checked;
      }
      if (reasons && !reasons.hidden) {
        body.reasons = Array.prototype.map.call(
          reasons.querySelectorAll("input:checked"), function (box) { return box.value; });
      }
      sending = true;
      send.setAttribute("aria-disabled", "true");
      status.className = "message";
      status.textContent = "";
      fetch(answerUrl.href, {
        method: "POST",
        credentials: "omit",
        mode: "cors",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      })
        .then(function (reply) {
          if (!reply.ok) throw new Error("answer refused (" + reply.status + ")");
          // The server words the thanks for the band of the score (and the survey's texts).
          return reply.json().then(
            function (answer) { thank(answer && answer.message); },
            function () { thank(null); });
        })
        .catch(function (error) {
          warn(error.message);
          sending = false;
          send.removeAttribute("aria-disabled");
          status.className = "message error";
          status.textContent = config.texts.error;
        });
    });

    function thank(message) {
      remember("answered");
      form.remove();
      heading.remove();
      var thanks = element("p", {
        "class": "message", role: "status", tabindex: "-1", id: headingId,
      }, typeof message === "string" && message ? message : config.texts.thanks);
      panel.appendChild(thanks);
      thanks.focus();
      // Long enough to read a low score's answer (what happens next), then it goes.
      window.setTimeout(function () { host.remove(); }, 12000);
    }
  }
})();
