// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit")) el.form.requestSubmit();
  // "Select all" checkbox of a table: ticks every checkbox named by data-select-all in the same form.
  if (el instanceof HTMLInputElement && el.dataset.selectAll) {
    el.form.querySelectorAll(`input[type=checkbox][name="${el.dataset.selectAll}"]`).forEach((box) => {
      box.checked = el.checked;
    });
  }
});
// Buttons that ask before they act: <button data-confirm="…">.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const message = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
