// Deals board: drag a card to another stage column (SortableJS). The per-card stage select and
// "Move" button stay the keyboard/no-JS way; dragging fills and submits the same form.
(function () {
  "use strict";
  const board = document.getElementById("deal-board");
  if (!board || typeof Sortable === "undefined") return;
  const config = JSON.parse(document.getElementById("deal-board-config").textContent);

  function submitMove(card, stage) {
    const form = card.querySelector("form.deal-move");
    if (!form) return;
    form.querySelector("select[name=stage]").value = stage;
    if (stage === config.lostStage) {
      const input = form.querySelector("input[name=lost_reason]");
      const reason = window.prompt(input.getAttribute("placeholder") || "", input.value);
      if (!reason) {
        window.location.reload();
        return;
      }
      input.value = reason;
    }
    form.requestSubmit();
  }

  // The lost-reason box only matters when "lost" is chosen; without JavaScript it is always shown.
  function syncReason(select) {
    const wrap = select.form.querySelector(".deal-lost-reason-wrap");
    if (wrap) wrap.hidden = select.value !== config.lostStage;
  }
  board.querySelectorAll("select.deal-stage-select").forEach(syncReason);
  board.addEventListener("change", (event) => {
    if (event.target.matches("select.deal-stage-select")) syncReason(event.target);
  });

  board.querySelectorAll(".deal-list").forEach((list) => {
    Sortable.create(list, {
      group: "deals",
      animation: 150,
      filter: "select, input, button, a",
      preventOnFilter: false,
      onAdd(event) {
        submitMove(event.item, event.to.dataset.stage);
      },
    });
  });
})();
