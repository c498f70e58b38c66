/* Allowlist rows: Add IP, Add my IP (for a while, or for good), Add (from the blocked list) and Remove,
   without a round trip.
   Every one of these buttons is also a submit button that the server understands, so the
   editor works without JavaScript; here they only change the rows in the page. */
(function () {
  "use strict";

  function editorOf(form) {
    return form ? form.querySelector("[data-entry-editor]") : null;
  }

  function rowsOf(editor) {
    return Array.prototype.slice.call(editor.querySelectorAll("[data-entry-list] [data-entry-row]"));
  }

  function addButtons(editor) {
    var form = editor.closest("form");
    return Array.prototype.slice.call(document.querySelectorAll("[data-add-row]")).filter(function (button) {
      return button.form === form;
    });
  }

  function refresh(editor) {
    var rows = rowsOf(editor);
    var atLimit = rows.length >= Number(editor.dataset.max);
    editor.querySelector("[data-entry-count]").textContent = String(rows.length);
    editor.querySelector("[data-entry-empty]").hidden = rows.length > 0;
    editor.querySelector("[data-entry-limit]").hidden = !atLimit;
    addButtons(editor).forEach(function (button) { button.disabled = atLimit; });
    rows.forEach(function (row, index) { row.setAttribute("aria-label", "Entry " + (index + 1)); });
  }

  function announce(editor, text) {
    editor.querySelector("[data-entry-status]").textContent = text;
  }

  function newRow(editor) {
    var total = editor.querySelector('input[name="' + editor.dataset.prefix + '-TOTAL_FORMS"]');
    var index = Number(total.value);
    var html = editor.querySelector("template[data-entry-template]").innerHTML.replace(/__prefix__/g, String(index));
    editor.querySelector("[data-entry-list]").insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var rows = rowsOf(editor);
    return rows[rows.length - 1];
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  /* The row's inputs take UTC, to the second, as the server shows them. */
  function utcText(date) {
    return date.getUTCFullYear() + "-" + pad(date.getUTCMonth() + 1) + "-" + pad(date.getUTCDate()) + "T" +
      pad(date.getUTCHours()) + ":" + pad(date.getUTCMinutes()) + ":" + pad(date.getUTCSeconds());
  }

  function addRow(editor, address, seconds) {
    if (rowsOf(editor).length >= Number(editor.dataset.max)) {
      return;
    }
    var blank = address ? rowsOf(editor).filter(function (row) {
      return !row.querySelector("input").value.trim();
    })[0] : null;
    var row = blank || newRow(editor);
    var input = row.querySelector("input");
    if (address) {
      input.value = address;
      var expires = row.querySelector('input[name$="-expires_at"]');
      if (expires) {
        expires.value = seconds ? utcText(new Date(Date.now() + seconds * 1000)) : "";
      }
    }
    refresh(editor);
    input.focus();
    var until = seconds ? " until " + utcText(new Date(Date.now() + seconds * 1000)).replace("T", " ") + " UTC" : "";
    announce(editor, address ? address + " added" + until + ". Save to apply it." : "Row added.");
  }

  function removeRow(editor, row) {
    var rows = rowsOf(editor);
    var next = rows[rows.indexOf(row) + 1] || rows[rows.indexOf(row) - 1];
    row.remove();
    refresh(editor);
    var target = next ? next.querySelector("input") : editor.querySelector("button[data-add-row]");
    if (target && !target.disabled) {
      target.focus();
    }
    announce(editor, "Row removed. Save to apply the change.");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest('button[name="row_action"]');
    var editor = button && editorOf(button.form);
    var parts = button ? button.value.split(":") : [];
    var verb = parts.shift();
    /* Check against recent traffic and Suggest entries go to the server, rows and all. */
    if (!editor || ["remove", "add", "addmine"].indexOf(verb) < 0) {
      return;
    }
    event.preventDefault();
    if (verb === "remove") {
      removeRow(editor, button.closest("[data-entry-row]"));
    } else if (verb === "add") {
      addRow(editor, parts.join(":"), 0);
    } else {
      var duration = document.querySelector("[data-my-ip-duration]");
      addRow(editor, parts.join(":"), duration ? Number(duration.value || 0) : 0);
    }
  });
})();
