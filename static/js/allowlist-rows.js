/* Allowlist rows: Add IP, Add my IP, Add (from the blocked list) and Remove, without a round trip.
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

  function addRow(editor, address) {
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
    }
    refresh(editor);
    input.focus();
    announce(editor, address ? address + " added. Save to apply it." : "Row added.");
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
    if (!editor) {
      return;
    }
    event.preventDefault();
    var parts = button.value.split(":");
    var verb = parts.shift();
    if (verb === "remove") {
      removeRow(editor, button.closest("[data-entry-row]"));
    } else if (verb === "add") {
      addRow(editor, parts.join(":"));
    }
  });
})();
