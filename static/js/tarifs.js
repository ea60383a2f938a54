// Tarifs calculator: show only the fields that apply to the chosen model's kind.
// Hidden fieldsets are also disabled so htmx does not send their values.
// Without this file every field stays visible and the server explains any misuse.
(function () {
  function sync(form) {
    const select = form.querySelector("select[name=model]");
    const option = select && select.selectedOptions[0];
    const kind = option ? option.dataset.kind || "" : "";
    form.querySelectorAll("fieldset[data-kind]").forEach((fieldset) => {
      const off = kind !== "" && fieldset.dataset.kind !== kind;
      fieldset.hidden = off;
      fieldset.disabled = off;
    });
  }

  function onModelChange(event) {
    if (!(event.target instanceof HTMLSelectElement) || event.target.name !== "model") return;
    const form = event.target.closest("form[data-calculator]");
    if (form) sync(form);
  }

  // Capture phase: runs before htmx (listening on the form) collects the values.
  document.addEventListener("input", onModelChange, true);
  document.addEventListener("change", onModelChange, true);
  // After an htmx update, mark the fields whose error slot now holds a message.
  document.addEventListener("htmx:afterSettle", () => {
    document.querySelectorAll("form[data-calculator] .field-error").forEach((slot) => {
      const field = document.getElementById(slot.id.replace(/-error$/, ""));
      if (!field) return;
      if (slot.textContent.trim()) field.setAttribute("aria-invalid", "true");
      else field.removeAttribute("aria-invalid");
    });
  });
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-calculator]").forEach(sync);
  });
})();
