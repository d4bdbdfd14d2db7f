// The portal's small behaviours (no framework, no external assets). Loaded by
// templates/portal/layout.html with `defer`.
//
// * <button data-copy="#element-id">Copy</button>: copies that element's text and says so
//   (aria-live) on the button itself.
// * <form data-confirm="Delete token X?"> ... </form>: asks in a <dialog> (keyboard: focus on
//   Cancel, Esc closes) before the form is submitted; the dialog's confirm button says what the
//   form's submit button says.
(function () {
  "use strict";

  function copyFrom(button) {
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target) return;
    var text = target.textContent.trim();
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { selectText(target); });
    } else {
      selectText(target);
      try { document.execCommand("copy"); done(); } catch (e) { /* selected: Ctrl+C works */ }
    }
  }

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function confirmThen(form, submitter) {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "confirm-dialog";
      dialog.setAttribute("aria-labelledby", "confirm-dialog-text");
      dialog.innerHTML =
        '<p id="confirm-dialog-text"></p><div class="row">' +
        '<button type="button" class="btn secondary" data-action="cancel">Cancel</button>' +
        '<button type="button" class="btn danger" data-action="confirm"></button></div>';
      document.body.appendChild(dialog);
    }
    dialog.querySelector("#confirm-dialog-text").textContent = form.getAttribute("data-confirm");
    var ok = dialog.querySelector('[data-action="confirm"]');
    ok.textContent = (submitter && submitter.textContent.trim()) || "Confirm";
    dialog.querySelector('[data-action="cancel"]').onclick = function () { dialog.close(); };
    ok.onclick = function () {
      dialog.close();
      form.setAttribute("data-confirmed", "1");
      if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
    };
    dialog.showModal();
    dialog.querySelector('[data-action="cancel"]').focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (button) { event.preventDefault(); copyFrom(button); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-confirm") || form.getAttribute("data-confirmed") === "1") return;
    event.preventDefault();
    confirmThen(form, event.submitter);
  });
})();
