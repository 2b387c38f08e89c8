// The console's one script (served from /console/assets, as the CSP
// requires): tables marked data-live refresh themselves from their JSON
// endpoint. Everything is built with textContent, never innerHTML, so a
// message's text can never become markup.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]');

  function actionForm(action) {
    const form = document.createElement("form");
    form.className = "inline";
    form.method = "post";
    form.action = action.url;
    const token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf";
    token.value = csrf ? csrf.content : "";
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "act";
    button.textContent = action.label;
    form.append(token, button);
    return form;
  }

  function render(table, data) {
    const classes = Array.from(table.querySelectorAll("thead th[data-col]"), (th) => th.dataset.col);
    const body = document.createElement("tbody");
    for (const row of data.rows) {
      const tr = document.createElement("tr");
      tr.dataset.id = row.id;
      tr.dataset.state = row.state;
      row.cells.forEach((text, i) => {
        const td = document.createElement("td");
        const cls = classes[i] || "";
        td.className = cls === "state" ? "state state-" + row.state : cls;
        if (i === 0 && row.link) {
          const a = document.createElement("a");
          a.href = row.link;
          a.textContent = text;
          td.append(a);
        } else {
          td.textContent = text;
        }
        tr.append(td);
      });
      const actions = document.createElement("td");
      actions.className = "actions";
      for (const action of row.actions) actions.append(actionForm(action));
      tr.append(actions);
      body.append(tr);
    }
    table.tBodies[0].replaceWith(body);
    const note = document.querySelector("[data-note]");
    if (note) {
      note.hidden = !data.note;
      note.textContent = data.note || "";
    }
  }

  function follow(table) {
    const every = Number(table.dataset.every) || 1000;
    const stamp = document.querySelector("[data-updated]");
    let refreshes = 0;
    async function tick() {
      try {
        const response = await fetch(table.dataset.live, { credentials: "same-origin", cache: "no-store" });
        if (response.status === 401) {
          window.location.assign("/console/login");
          return;
        }
        if (response.ok) {
          render(table, await response.json());
          refreshes += 1;
          table.dataset.refreshes = String(refreshes);
          if (stamp) stamp.textContent = new Date().toLocaleTimeString();
        } else if (stamp) {
          stamp.textContent = "failed (" + response.status + "), retrying";
        }
      } catch (e) {
        if (stamp) stamp.textContent = "daemon unreachable, retrying";
      }
      setTimeout(tick, every);
    }
    setTimeout(tick, every);
  }

  document.querySelectorAll("table[data-live]").forEach(follow);
})();
