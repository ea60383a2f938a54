// Small progressive enhancements; every page works without this file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copyTarget);
  if (!source) return;
  const text = source.value !== undefined ? source.value : source.textContent.trim();
  navigator.clipboard.writeText(text).then(() => {
    const label = button.textContent;
    // The page's language: <body data-copied="…"> (base.html).
    button.textContent = document.body.dataset.copied || "Copié !";
    setTimeout(() => { button.textContent = label; }, 2000);
  });
});
