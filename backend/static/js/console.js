// Console behaviour that used to sit in inline handlers (which the Content-Security-Policy refuses):
// a form with data-confirm asks before it submits.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form && form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
