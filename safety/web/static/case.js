// The case page: the signer's time zone goes with the signature (shown beside UTC on the
// record). A static file, not an inline script, so the Content-Security-Policy can forbid
// inline scripts altogether.
document.addEventListener("DOMContentLoaded", function () {
  var tz = document.querySelector("#sign-form input[name=tz]");
  if (tz) {
    tz.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  }
});
