// The report's "Print or save as PDF" button (a file of the dashboard's own, so the CSP needs no inline script).
document.addEventListener("click", function (event) {
  if (event.target instanceof Element && event.target.closest("#report-print")) {
    window.print();
  }
});
