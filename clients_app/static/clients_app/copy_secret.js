"use strict";
// A file rather than an inline script: the admin's Content-Security-Policy allows only 'self'.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) {
    return;
  }
  const secret = document.getElementById(button.dataset.copy).textContent.trim();
  navigator.clipboard.writeText(secret).then(
    () => { button.textContent = "Copied"; },
    () => { button.textContent = "Copy failed: select the text and copy it by hand"; },
  );
});
