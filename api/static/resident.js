// The resident's page (主动报备): announce an opening, the twice-daily symptom check, daily
// services. It knows the household only by the secret in its own address, and the residents
// only by number: the gateway tells it nothing else.

const base = location.pathname.replace(/\/+$/, "");
const $ = (id) => document.getElementById(id);

/** A request to this page's routes; the answer's JSON, or an Error with what to show. */
async function call(path, body) {
  const init = { cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" };
  if (body !== undefined) {
    init.method = "POST";
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  let answer;
  try {
    answer = await fetch(base + path, init);
  } catch {
    throw new Error("网络连接失败，请稍后再试");
  }
  let data = null;
  try {
    data = await answer.json();
  } catch {
    data = null;
  }
  if (!answer.ok) {
    const said = data && typeof data.detail === "string" ? data.detail : null;
    throw new Error(said || `暂时无法办理（${answer.status}），请稍后再试`);
  }
  return data;
}

function show(el, text, kind = "ok") {
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
}

function button(label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", () => onClick(b));
  return b;
}

/** Buttons stay disabled while a request is on its way (a double tap sends one). */
async function busy(buttons, work) {
  buttons.forEach((b) => { b.disabled = true; });
  try {
    await work();
  } finally {
    buttons.forEach((b) => { b.disabled = b.dataset.off === "1"; });
  }
}

function setRemaining(info, remaining) {
  $("remaining").textContent = String(remaining);
  const out = remaining <= 0 || !info.isolated;
  for (const b of $("reasons").querySelectorAll("button")) {
    b.dataset.off = out ? "1" : "0";
    b.disabled = out;
  }
}

function drawOpening(info) {
  $("minutes").textContent = String(info.minutes);
  $("per-day").textContent = String(info.per_day);
  const result = $("open-result");
  const reasons = $("reasons");
  for (const choice of info.reasons) {
    reasons.append(button(choice.label, async () => {
      await busy([...reasons.querySelectorAll("button")], async () => {
        try {
          const got = await call("", { reason: choice.key });
          show(result, `已报备「${choice.label}」：请在 ${got.until} 前开门并关好门；之后开门仍会报警。`);
          setRemaining(info, got.remaining);
        } catch (e) {
          show(result, e.message, "error");
        }
      });
    }));
  }
  setRemaining(info, info.remaining);
  if (info.open_until) {
    show(result, `当前报备有效至 ${info.open_until}。`);
  } else if (info.isolated && info.remaining <= 0) {
    show(result, "今日报备次数已用完；如需开门，请联系社区工作人员。", "error");
  }
}

function drawResident(info, n, labels) {
  const form = $("resident-form").content.firstElementChild.cloneNode(true);
  form.dataset.resident = String(n);
  form.action = `${base}/symptoms`;
  form.querySelector("legend").textContent = `住户${n}`;
  const boxes = form.querySelector(".symptoms");
  for (const choice of info.symptoms) {
    const label = document.createElement("label");
    label.className = "choice";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "symptoms";
    box.value = choice.key;
    label.append(box, ` ${choice.label}`);
    boxes.append(label);
  }
  const none = form.querySelector("input[name=none]");
  const ticked = () => [...form.querySelectorAll("input[name=symptoms]:checked")].map((b) => b.value);
  // 无症状 and a symptom exclude each other.
  form.addEventListener("change", (ev) => {
    if (ev.target === none && none.checked) {
      form.querySelectorAll("input[name=symptoms]").forEach((b) => { b.checked = false; });
    } else if (ev.target.name === "symptoms" && ev.target.checked) {
      none.checked = false;
    }
  });
  const result = form.querySelector(".result");
  const submit = form.querySelector("button[type=submit]");
  submit.textContent = `提交住户${n}的自查`;
  submit.dataset.off = info.isolated ? "0" : "1";
  submit.disabled = !info.isolated;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const symptoms = ticked();
    if (!symptoms.length && !none.checked) {
      show(result, "请勾选症状，或勾选“无症状”。", "error");
      return;
    }
    await busy([submit], async () => {
      try {
        const got = await call("/symptoms", { resident: n, symptoms });
        const at = got.at.slice(11, 16);
        const said = got.symptoms.map((k) => labels[k] || k).join("、");
        show(result, got.symptoms.length
          ? `已提交（${at}）：${said}。医生会尽快与您联系。`
          : `已提交（${at}）：无症状。`);
      } catch (e) {
        show(result, e.message, "error");
      }
    });
  });
  return form;
}

function drawChecks(info) {
  const labels = Object.fromEntries(info.symptoms.map((c) => [c.key, c.label]));
  const list = $("residents");
  for (let n = 1; n <= info.residents; n += 1) list.append(drawResident(info, n, labels));
  if (info.reading_window) {
    show($("reading-window"), `现在是测温时段（${info.reading_window.replace("-", "–")}）。`);
  }
}

function drawServices(info) {
  const kinds = $("kinds");
  const result = $("service-result");
  for (const choice of info.services) {
    const b = button(`申请${choice.label}`, async () => {
      await busy([...kinds.querySelectorAll("button")], async () => {
        try {
          const note = $("note").value.trim();
          const got = await call("/services", note ? { kind: choice.key, note } : { kind: choice.key });
          show(result, `已申请「${choice.label}」（${got.requested_at.slice(11, 16)}），工作人员会尽快处理。`);
          $("note").value = "";
        } catch (e) {
          show(result, e.message, "error");
        }
      });
    });
    b.dataset.off = info.isolated ? "0" : "1";
    b.disabled = !info.isolated;
    kinds.append(b);
  }
}

async function start() {
  const status = $("status");
  let info;
  try {
    info = await call("/info");
  } catch (e) {
    show(status, e.message, "error");
    $("page").dataset.state = "error";
    return;
  }
  if (info.isolated) {
    status.hidden = true;
  } else {
    show(status, "当前不在隔离期内，无需报备或自查。", "error");
  }
  drawOpening(info);
  drawChecks(info);
  drawServices(info);
  if (info.hotline) {
    const a = $("hotline-number");
    a.textContent = info.hotline;
    a.href = `tel:${info.hotline.replace(/[^0-9+]/g, "")}`;
    $("hotline").hidden = false;
  }
  for (const id of ["open", "check", "services"]) $(id).hidden = false;
  $("page").dataset.state = "ready";
}

start();
