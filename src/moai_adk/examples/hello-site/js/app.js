// Shows when the page was loaded in the browser (the site has no build step).
document.addEventListener("DOMContentLoaded", () => {
  const slot = document.querySelector("[data-load-time]");
  if (slot) {
    slot.textContent = new Date().toISOString();
  }
});
