// Survey pages work without this file; with it:
// - a personal link opened with ?score=N records N at once (one click from the email),
//   then leaves the form open for a comment or a changed score;
// - Enter on a choice sends the form.
(function () {
  "use strict";
  var form = document.querySelector("form.answer");
  if (!form) { return; }
  var status = form.querySelector(".status");

  function post(fields) {
    return fetch(form.getAttribute("action"), {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
      body: new URLSearchParams(fields).toString(),
      credentials: "same-origin"
    });
  }

  function say(text) { if (status) { status.textContent = text; } }

  if (form.dataset.oneClick === "yes") {
    var chosen = form.querySelector("input[name=score]:checked");
    if (chosen) {
      // Only the score: a comment stored earlier is kept (the server leaves absent fields).
      post({
        score: chosen.value,
        form_token: form.elements.form_token.value,
        lang: form.elements.lang.value
      }).then(function (answer) {
        if (!answer.ok) { throw new Error(String(answer.status)); }
        say(form.dataset.sentMessage);
        form.dataset.recorded = "yes";
        var comment = form.querySelector("#comment");
        if (comment) { comment.focus(); }
      }).catch(function () { say(form.dataset.failedMessage); });
    }
  }

  form.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === "Enter" && target instanceof HTMLInputElement && target.type === "radio") {
      event.preventDefault();
      if (form.reportValidity()) { form.requestSubmit(); }
    }
  });
})();
