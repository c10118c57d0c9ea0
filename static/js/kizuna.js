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
// Field buttons of the template editor: <button data-insert-field="{{ booking_url }}" data-insert-target="id_body">
// puts the field at the cursor of the target textarea (without JavaScript they only show the field, or
// submit to add the booking line at the end).
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element && event.target.closest("[data-insert-field]");
  if (!button) return;
  const target = document.getElementById(button.dataset.insertTarget);
  if (!(target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement)) return;
  event.preventDefault();
  const start = target.selectionStart ?? target.value.length;
  const end = target.selectionEnd ?? start;
  target.setRangeText(button.dataset.insertField, start, end, "end");
  target.focus();
  const hint = button.closest("#booking-link-hint");
  if (hint) hint.hidden = true;
});
