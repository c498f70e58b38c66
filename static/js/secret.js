/* The page that shows a new secret once.
   - The address bar becomes the keys list, so a reload asks for that page with a GET.
   - When the page is left, the secret is wiped, so Back (even from the page cache) never shows it.
   - Copy puts the secret on the clipboard. */
(function () {
  "use strict";

  var panel = document.querySelector("[data-secret-panel]");
  if (!panel) {
    return;
  }
  var secret = panel.querySelector("[data-secret]");
  var status = panel.querySelector("[data-copy-status]");

  if (window.history && window.history.replaceState) {
    window.history.replaceState(null, "", panel.dataset.replaceUrl);
  }

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function copyBySelection() {
    var range = document.createRange();
    range.selectNodeContents(secret);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    say(copied ? "Copied to the clipboard." : "Press Ctrl+C (or Cmd+C) to copy the selected key.");
  }

  panel.addEventListener("click", function (event) {
    if (!event.target.closest("[data-copy]")) {
      return;
    }
    var text = secret.textContent.trim();
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () {
        say("Copied to the clipboard.");
      }, copyBySelection);
    } else {
      copyBySelection();
    }
  });

  function wipe() {
    if (!secret.textContent) {
      return;
    }
    secret.textContent = "";
    panel.classList.add("secret-panel--gone");
    var box = panel.querySelector(".secret-box");
    if (box) {
      box.textContent = "This key is no longer shown. If you did not copy it, roll the key.";
    }
  }

  window.addEventListener("pagehide", wipe);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      wipe();
      window.location.reload();
    }
  });
})();
