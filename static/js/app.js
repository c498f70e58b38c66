/* Keyfence pages: the three-dot menus and forms that must not be submitted twice.
   Loaded in <head> without defer so that the "js" class is set before the first paint:
   without JavaScript the menus' links show as a plain list instead. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function menuItems(menu) {
    return Array.prototype.slice.call(menu.querySelectorAll('[role="menuitem"]'));
  }

  function setUpMenu(button) {
    var menu = document.getElementById(button.getAttribute("aria-controls"));
    if (!menu) {
      return;
    }
    menu.hidden = true;
    menuItems(menu).forEach(function (item) { item.tabIndex = -1; });

    function isOpen() {
      return button.getAttribute("aria-expanded") === "true";
    }

    function focusItem(index) {
      var items = menuItems(menu);
      if (items.length) {
        items[(index + items.length) % items.length].focus();
      }
    }

    function open(index) {
      document.dispatchEvent(new CustomEvent("keyfence:menu-open", { detail: button }));
      menu.hidden = false;
      button.setAttribute("aria-expanded", "true");
      focusItem(index);
    }

    function close(returnFocus) {
      if (!isOpen()) {
        return;
      }
      menu.hidden = true;
      button.setAttribute("aria-expanded", "false");
      if (returnFocus) {
        button.focus();
      }
    }

    button.addEventListener("click", function () {
      if (isOpen()) {
        close(true);
      } else {
        open(0);
      }
    });

    button.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        open(event.key === "ArrowDown" ? 0 : -1);
      }
    });

    menu.addEventListener("keydown", function (event) {
      var items = menuItems(menu);
      var index = items.indexOf(document.activeElement);
      var moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: -1 };
      if (event.key in moves) {
        event.preventDefault();
        focusItem(moves[event.key]);
      } else if (event.key === "Escape") {
        event.preventDefault();
        close(true);
      } else if (event.key === "Tab") {
        close(false);
      } else if (event.key === " " && index >= 0) {
        event.preventDefault();
        items[index].click();
      }
    });

    menu.addEventListener("click", function (event) {
      var item = event.target.closest('[role="menuitem"]');
      if (item && item.getAttribute("aria-disabled") === "true") {
        event.preventDefault();
      }
    });

    document.addEventListener("keyfence:menu-open", function (event) {
      if (event.detail !== button) {
        close(false);
      }
    });

    document.addEventListener("click", function (event) {
      if (isOpen() && !menu.contains(event.target) && !button.contains(event.target)) {
        close(false);
      }
    });

    menu.addEventListener("focusout", function (event) {
      var next = event.relatedTarget;
      if (next && !menu.contains(next) && next !== button) {
        close(false);
      }
    });
  }

  /* A second submit of a create or roll form would be refused by the server anyway,
     and its response would replace the page that shows the new secret. */
  function guardSubmit(form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.submitting === "true") {
        event.preventDefault();
        return;
      }
      form.dataset.submitting = "true";
    });
  }

  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      delete form.dataset.submitting;
    });
  });

  /* After a refused submit the page comes back with an error summary: move focus there, so that
     keyboard and screen-reader users start from what went wrong instead of the top of the page. */
  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-menu-button]").forEach(setUpMenu);
    document.querySelectorAll("form[data-submit-once]").forEach(guardSubmit);
    focusErrorSummary();
  });
})();
