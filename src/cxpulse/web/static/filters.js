// The dashboard's filter form; the form works without this script.
// - Empty fields are left out of the URL, so shared links stay short.
//   (Choices do not submit themselves: a page that reloads while one picks an option would
//   move keyboard and screen-reader users without warning, WCAG 3.2.2.)
(function () {
  "use strict";
  var form = document.getElementById("view-filters");
  if (form) {
    form.addEventListener("submit", function () {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name && field.type !== "checkbox" && field.value === "") { field.disabled = true; }
      });
    });
  }
})();
