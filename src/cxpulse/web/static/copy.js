// Copy buttons of the texts to copy (templates/app/share/copy_box.html). Without this script
// each text stays a read-only box a person selects and copies; with it, each box gets a
// button that copies its text and says so. No inline script: the pages' policy allows none.
(function () {
  "use strict";

  function say(button, text) {
    var status = button.parentNode.querySelector(".copy-status");
    if (status) {
      status.textContent = text;
      window.setTimeout(function () { status.textContent = ""; }, 4000);
    }
  }

  // The old way, for browsers without the Clipboard API or outside a secure context.
  function copySelected(box) {
    box.focus();
    box.select();
    try { return document.execCommand("copy"); } catch (error) { return false; }
  }

  function copy(button) {
    var box = document.getElementById(button.getAttribute("data-copy"));
    if (!box) { return; }
    var done = function () { say(button, "Copied."); };
    var failed = function () {
      box.focus();
      box.select();
      say(button, "Selected: press Ctrl+C (⌘C on a Mac) to copy.");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(box.value).then(done, function () {
        if (copySelected(box)) { done(); } else { failed(); }
      });
    } else if (copySelected(box)) {
      done();
    } else {
      failed();
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { copy(button); });
  });
}());
