// The import form: while the import runs (it can take a minute), say so and keep the button
// from being pressed twice. Without JavaScript the form works the same, without the notice.
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-importing]")) {
    form.addEventListener("submit", () => {
      const notice = form.querySelector(".importing");
      if (notice) notice.hidden = false;
      const button = form.querySelector('button[type="submit"]');
      if (button) {
        // Disabled after the submission has started, so that the form is still sent.
        setTimeout(() => { button.disabled = true; }, 0);
      }
    });
  }
});
