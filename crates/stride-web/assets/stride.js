// Small progressive enhancements; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // The language switch returns to the page it was used on.
  for (const input of document.querySelectorAll("input[data-current-path]")) {
    input.value = location.pathname + location.search;
  }
  // Destructive buttons ask first.
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (e) => {
      if (!confirm(button.dataset.confirm)) e.preventDefault();
    });
  }
});
