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

// The opportunity board: drag a card to another column, or pick a stage in its "move to" list.
// Both call the stage API with the session's CSRF token; a refused move names what is missing
// and the card stays where it was. Dropping on won or lost opens the card's close form.
document.addEventListener("DOMContentLoaded", () => {
  const board = document.getElementById("board");
  if (!board) return;
  const message = document.getElementById("board-message");
  const show = (text) => {
    message.textContent = text;
    message.hidden = false;
  };
  const requirement = (code) => {
    const item = document.querySelector(`#requirement-texts li[data-code="${code}"]`);
    return item ? item.textContent : code;
  };
  const move = async (card, stage) => {
    const from = card.closest(".board-column");
    if (!stage || (from && from.dataset.stage === stage)) return;
    const target = board.querySelector(`.board-column[data-stage="${stage}"]`);
    if (target && target.dataset.terminal === "true") {
      location.href = `/opportunities/${card.dataset.id}#close`;
      return;
    }
    card.classList.add("moving");
    let res;
    try {
      res = await fetch(`/api/v1/opportunities/${card.dataset.id}/stage`, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "X-CSRF-Token": board.dataset.csrf,
          "If-Match": `"${card.dataset.version}"`,
        },
        body: JSON.stringify({ stage }),
      });
    } catch (_) {
      res = null;
    }
    card.classList.remove("moving");
    if (res && res.ok) {
      location.reload();
      return;
    }
    let problem = {};
    try {
      problem = res ? await res.json() : {};
    } catch (_) {
      problem = {};
    }
    const missing = (problem.errors || [])
      .filter((e) => e.field === "stage" && document.querySelector(`#requirement-texts li[data-code="${e.code}"]`))
      .map((e) => requirement(e.code));
    if (missing.length) {
      show(`${board.dataset.blocked} ${missing.join("; ")}`);
    } else if (res && res.status === 412) {
      show(board.dataset.stale);
    } else {
      show(board.dataset.failed);
    }
    const select = card.querySelector("select.move-to");
    if (select) select.selectedIndex = 0;
  };
  for (const form of board.querySelectorAll("form.move-form")) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const card = form.closest(".opp-card");
      move(card, form.querySelector("select.move-to").value);
    });
  }
  let dragged = null;
  for (const card of board.querySelectorAll(".opp-card[draggable=true]")) {
    card.addEventListener("dragstart", (e) => {
      dragged = card;
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", card.dataset.id);
      card.classList.add("dragging");
    });
    card.addEventListener("dragend", () => {
      card.classList.remove("dragging");
      dragged = null;
    });
  }
  for (const column of board.querySelectorAll(".board-column")) {
    column.addEventListener("dragover", (e) => {
      if (!dragged) return;
      e.preventDefault();
      column.classList.add("drop-target");
    });
    column.addEventListener("dragleave", () => column.classList.remove("drop-target"));
    column.addEventListener("drop", (e) => {
      e.preventDefault();
      column.classList.remove("drop-target");
      if (dragged) move(dragged, column.dataset.stage);
    });
  }
});
