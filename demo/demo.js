// Behaviour of the demo page: a form, a list that changes, a ticking clock, a dialog and console
// buttons, so every kind of rrweb event shows up in a session.
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);

  // Form: no request is made; the confirmation does not echo what was typed.
  $("contact-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("confirmation").hidden = false;
    event.target.reset();
  });

  // List: add from the input, remove with each item's button.
  const list = $("list");
  const updateCount = () => {
    $("item-count").textContent = String(list.children.length);
  };
  const addItem = (text) => {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = text;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove-item";
    remove.setAttribute("aria-label", "Remove");
    remove.textContent = "×";
    li.append(label, remove);
    list.append(li);
    updateCount();
  };
  let added = 0;
  $("add-item").addEventListener("click", () => {
    const input = $("new-item");
    added += 1;
    addItem(input.value.trim() || `Item ${added}`);
    input.value = "";
    input.focus();
  });
  $("new-item").addEventListener("keydown", (event) => {
    if (event.key === "Enter") $("add-item").click();
  });
  list.addEventListener("click", (event) => {
    const button = event.target.closest(".remove-item");
    if (button) {
      button.closest("li").remove();
      updateCount();
    }
  });

  // Clock: something on the page changes every few seconds.
  let ticks = 0;
  const tick = () => {
    $("clock").textContent = new Date().toLocaleTimeString();
    $("ticks").textContent = String(ticks++);
  };
  tick();
  setInterval(tick, 3000);

  // A moving chart on a canvas: rrweb records canvases as empty boxes, so agents see it only when
  // they ask for the page's canvases as video.
  const chart = $("load-chart");
  const pen = chart.getContext("2d");
  const draw = (now) => {
    pen.fillStyle = "#0f172a";
    pen.fillRect(0, 0, chart.width, chart.height);
    pen.strokeStyle = "#38bdf8";
    pen.lineWidth = 2;
    pen.beginPath();
    for (let x = 0; x <= chart.width; x += 4) {
      const y = chart.height / 2 + Math.sin((x + now / 10) / 20) * (chart.height / 3);
      if (x === 0) pen.moveTo(x, y);
      else pen.lineTo(x, y);
    }
    pen.stroke();
    requestAnimationFrame(draw);
  };
  requestAnimationFrame(draw);

  // Dialog.
  const modal = $("modal");
  const closeModal = () => {
    modal.hidden = true;
  };
  $("open-modal").addEventListener("click", () => {
    modal.hidden = false;
    $("close-modal").focus();
  });
  $("close-modal").addEventListener("click", closeModal);
  $("modal-confirm").addEventListener("click", closeModal);
  modal.addEventListener("click", (event) => {
    if (event.target === modal) closeModal();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !modal.hidden) closeModal();
  });

  // Console messages, recorded by the tracker's console plugin.
  $("log-info").addEventListener("click", () => console.log("demo: hello from the page", { ticks }));
  $("log-warn").addEventListener("click", () => console.warn("demo: the cart is getting full"));
  $("log-error").addEventListener("click", () => console.error("demo: payment failed (this is a test error)"));

  // Requests, recorded by the tracker's network recorder (the agent's network panel shows them):
  // one that works, with fetch, and one to a path the server does not have, with XMLHttpRequest.
  const result = $("request-result");
  $("request-ok").addEventListener("click", async () => {
    try {
      const response = await fetch("second.html?from=demo");
      result.textContent = `GET second.html: ${response.status}`;
    } catch (error) {
      result.textContent = `GET second.html failed: ${error}`;
    }
  });
  $("request-fail").addEventListener("click", () => {
    const xhr = new XMLHttpRequest();
    xhr.open("GET", "api/orders/missing-order.json?order=1234");
    xhr.onloadend = () => {
      result.textContent = `GET missing-order.json: ${xhr.status || "network error"}`;
    };
    xhr.send();
  });
})();
