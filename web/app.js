// 个人网厅: the screens of the Taiyuan personal web hall manual (seed 002) and the 手机公积金 app (seed 004),
// talking only to the public API. Money, masked IDs and error messages are shown exactly as the API sends them.

import * as api from "./api.js";

const $view = () => document.getElementById("view");

// ---------- small DOM helpers ----------
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const LABELS = {
  normal: "正常", sealed: "封存", closed: "销户", frozen: "冻结", employee: "单位职工", flexible: "灵活就业",
  submitted: "待审核", pending: "待审核", approved: "已通过", rejected: "未通过", done: "已办结", paid: "已到账",
  posted: "处理中", reversed: "已退回", cancelled: "已撤销", in_progress: "办理中", repaying: "还款中",
  settled: "已结清", current: "进行中", todo: "未开始", in: "缴存", out: "支取", automatic: "自动审批",
  manual: "人工审核", review: "人工审核", bound: "已绑定", active: "正常",
};
const label = (v) => (v === null || v === undefined || v === "" ? "—" : LABELS[v] || v);
const show = (v) => (v === null || v === undefined || v === "" ? "—" : String(v));
const when = (v) => (v ? String(v).replace("T", " ").replace(/\.\d+/, "").replace(/\+08:00$/, "") : "—");

function notice(el, text, kind = "error") {
  el.replaceChildren();
  if (!text) return;
  el.append(h("div", { class: "msg " + kind, role: kind === "error" ? "alert" : "status" }, text));
}

function fail(el, err) {
  notice(el, api.describe(err), "error");
}

function kv(rows) {
  return h("dl", { class: "kv" }, rows.map(([k, v, id]) => [h("dt", {}, k), h("dd", id ? { "data-field": id } : {}, show(v))]));
}

function table(cols, items, empty = "暂无记录") {
  if (!items || !items.length) return h("p", { class: "empty" }, empty);
  return h("div", { class: "scroll" }, h("table", {},
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c[0])))),
    h("tbody", {}, items.map((it) => h("tr", {}, cols.map((c) => h("td", { "data-label": c[0] }, c[1](it))))))));
}

function field(labelText, input) {
  return h("label", { class: "field" }, h("span", {}, labelText), input);
}

function input(name, attrs = {}) {
  return h("input", { name, id: "f-" + name, autocomplete: "off", ...attrs });
}

function button(text, onclick, attrs = {}) {
  return h("button", { type: "button", onclick, ...attrs }, text);
}

// A form: collects its named inputs, runs `submit(values)`, shows the API's message on failure.
function form(fields, submitText, submit, extra = {}) {
  const msg = h("div", { class: "notice" });
  const btn = h("button", { type: "submit", class: "primary", id: extra.id }, submitText);
  const f = h("form", { class: "form", novalidate: true }, fields, btn, msg);
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const values = {};
    for (const el of f.elements) {
      if (!el.name) continue;
      values[el.name] = el.type === "checkbox" ? el.checked : el.value.trim();
    }
    btn.disabled = true;
    notice(msg, "");
    try {
      await submit(values, msg);
    } catch (err) {
      fail(msg, err);
    } finally {
      btn.disabled = false;
    }
  });
  return f;
}

// The image captcha the API asks for (CAPTCHA_REQUIRED): hidden until then, a new image on each load.
function captcha() {
  const box = h("div", { class: "captcha", hidden: true });
  const c = {
    el: box,
    id: null,
    async load() {
      const out = await api.request("GET", "/v1/auth/captcha", { anonymous: true });
      c.id = out.captcha_id;
      box.hidden = false;
      box.replaceChildren(
        field("图形验证码", input("captcha_answer", { maxlength: "8", autocomplete: "off" })),
        h("img", { src: "data:image/png;base64," + out.image_png_base64, alt: "图形验证码", id: "captcha-img",
          title: "看不清？点击换一张", onclick: () => c.load() }));
    },
    values() {
      if (!c.id) return {};
      return { captcha_id: c.id, captcha_answer: box.querySelector("input").value.trim() };
    },
  };
  return c;
}

// A button that asks the API to text a code, and counts down; with `cap`, shows the captcha when asked for.
function smsButton(body, cap) {
  const b = h("button", { type: "button", class: "sms" }, "获取验证码");
  b.addEventListener("click", async () => {
    const msg = b.closest("form")?.querySelector(".notice");
    try {
      const payload = { ...(typeof body === "function" ? body() : body), ...(cap ? cap.values() : {}) };
      let out;
      try {
        out = await api.request("POST", "/v1/auth/sms-codes", { body: payload });
      } catch (err) {
        if (cap && (err.code === "CAPTCHA_REQUIRED" || cap.id)) await cap.load();
        throw err;
      }
      let left = out.resend_after || 60;
      b.disabled = true;
      if (msg) notice(msg, "验证码已发送，请查看手机短信", "ok");
      const timer = setInterval(() => {
        left -= 1;
        b.textContent = `${left}秒后重发`;
        if (left <= 0) {
          clearInterval(timer);
          b.disabled = false;
          b.textContent = "获取验证码";
        }
      }, 1000);
    } catch (err) {
      if (msg) fail(msg, err);
    }
  });
  return b;
}

// ---------- step-up (业务身份验证) ----------
// Money moves need a step-up token: a code to the phone on record, typed into this dialog.
function stepUp() {
  const have = api.currentStepUp();
  if (have) return Promise.resolve(have);
  return new Promise((resolve, reject) => {
    const msg = h("div", { class: "notice" });
    const code = input("step_up_code", { inputmode: "numeric", maxlength: "6", placeholder: "6位短信验证码" });
    const close = () => dlg.remove();
    const send = h("button", { type: "button", class: "sms", id: "step-up-send" }, "发送验证码");
    send.addEventListener("click", async () => {
      try {
        await api.post("/v1/auth/sms-codes", { purpose: "step_up" });
        notice(msg, "验证码已发送至您登记的手机", "ok");
      } catch (err) {
        fail(msg, err);
      }
    });
    const ok = h("button", { type: "button", class: "primary", id: "step-up-ok" }, "确认");
    ok.addEventListener("click", async () => {
      try {
        const out = await api.post("/v1/auth/step-up", { sms_code: code.value.trim() });
        api.keepStepUp(out);
        close();
        resolve(out.step_up_token);
      } catch (err) {
        fail(msg, err);
      }
    });
    const dlg = h("div", { class: "overlay", id: "step-up" }, h("div", { class: "dialog" },
      h("h3", {}, "业务身份验证"), h("p", {}, "为保障资金安全，请输入发送到您登记手机的验证码。"),
      h("div", { class: "row" }, code, send), msg,
      h("div", { class: "actions" }, button("取消", () => { close(); reject(new api.ApiError(0, "CANCELLED", "已取消")); }), ok)));
    document.body.append(dlg);
  });
}

// A money action: step-up, then the call with one idempotency key kept for retries of the same action.
// A kept token the API no longer takes (expired, or another session's) is dropped and asked for once more.
async function withStepUp(call) {
  for (let attempt = 0; ; attempt += 1) {
    const token = await stepUp();
    try {
      return await call(token);
    } catch (err) {
      if (!(err.status === 401 && err.details && err.details.step_up)) throw err;
      api.forgetStepUp();
      if (attempt > 0) throw err;
    }
  }
}

// ---------- shell ----------
const NAV = [
  ["#/home", "首页"], ["#/account", "我的公积金"], ["#/loans", "我的贷款"], ["#/withdraw", "公积金提取"],
  ["#/flexible", "灵活就业"], ["#/password", "修改密码"],
];

function shell(title, ...content) {
  const nav = h("nav", { class: "nav" }, NAV.map(([href, text]) =>
    h("a", { href, class: location.hash.startsWith(href) ? "active" : "" }, text)),
  h("a", { href: "#/logout", id: "logout" }, "退出"));
  $view().replaceChildren(nav, h("section", { class: "page" }, h("h2", {}, title), ...content));
}

function tabs(items, onPick, start = 0) {
  const bar = h("div", { class: "tabs", role: "tablist" });
  const body = h("div", { class: "tab-body" });
  items.forEach(([key, text], i) => {
    const t = h("button", { type: "button", role: "tab", "data-tab": key }, text);
    t.addEventListener("click", () => {
      bar.querySelectorAll("button").forEach((b) => b.classList.remove("active"));
      t.classList.add("active");
      // a pane of its own per pick: a slow answer for the tab left behind fills a pane no longer shown
      const pane = h("div", { "data-pane": key }, h("p", { class: "loading" }, "加载中…"));
      body.replaceChildren(pane);
      onPick(key, pane);
    });
    bar.append(t);
    if (i === start) queueMicrotask(() => t.click());
  });
  return h("div", {}, bar, body);
}

// ---------- 登录 / 注册 / 忘记密码 ----------
function loginScreen() {
  const cap = captcha();
  const pwd = form([
    field("身份证号或手机号", input("principal", { autocomplete: "username", placeholder: "请输入身份证号或手机号" })),
    field("密码", input("password", { type: "password", autocomplete: "current-password" })),
    cap.el,
  ], "登录", async (v) => {
    const body = { principal: v.principal, password: v.password, ...cap.values() };
    try {
      signedIn(await api.request("POST", "/v1/auth/login", { body, anonymous: true }));
    } catch (err) {
      if (err.code === "CAPTCHA_REQUIRED" || cap.id) await cap.load();
      throw err;
    }
  }, { id: "login-submit" });
  const smsPhone = input("phone", { inputmode: "numeric", maxlength: "11", placeholder: "登记的手机号" });
  const sms = form([
    field("手机号", smsPhone),
    field("短信验证码", h("div", { class: "row" }, input("sms_code", { inputmode: "numeric", maxlength: "6" }),
      smsButton(() => ({ purpose: "login", phone: smsPhone.value.trim() })))),
  ], "登录", async (v) => {
    signedIn(await api.request("POST", "/v1/auth/login/sms", { body: v, anonymous: true }));
  }, { id: "sms-login-submit" });
  const panes = { pwd, sms };
  const body = h("div", {}, pwd);
  const bar = h("div", { class: "tabs" },
    ["pwd", "sms"].map((k) => h("button", { type: "button", "data-tab": k, class: k === "pwd" ? "active" : "",
      onclick: (ev) => {
        bar.querySelectorAll("button").forEach((b) => b.classList.remove("active"));
        ev.currentTarget.classList.add("active");
        body.replaceChildren(panes[k]);
      } }, k === "pwd" ? "密码登录" : "短信验证码登录")));
  $view().replaceChildren(h("section", { class: "page narrow" }, h("h2", {}, "个人网上业务大厅登录"), bar, body,
    h("p", { class: "links" }, h("a", { href: "#/register" }, "注册"), " · ", h("a", { href: "#/forgot" }, "忘记密码"))));
}

function signedIn(pair) {
  if (pair.role && pair.role !== "depositor") {
    throw new api.ApiError(403, "FORBIDDEN", "请使用个人账号登录");
  }
  api.saveTokens(pair);
  location.hash = "#/home";
}

const TERMS = "本人承诺所填信息真实有效；住房公积金管理中心依法保护个人信息，仅用于办理住房公积金业务；" +
  "本人妥善保管登录密码和短信验证码，因本人泄露造成的损失由本人承担。";

function registerScreen() {
  const phone = input("phone", { inputmode: "numeric", maxlength: "11" });
  const cap = captcha();
  $view().replaceChildren(h("section", { class: "page narrow" }, h("h2", {}, "用户注册"), form([
    field("姓名", input("name")),
    field("身份证号", input("id_number", { maxlength: "18" })),
    field("手机号", phone),
    cap.el,
    field("短信验证码", h("div", { class: "row" }, input("sms_code", { inputmode: "numeric", maxlength: "6" }),
      smsButton(() => ({ purpose: "register", phone: phone.value.trim() }), cap))),
    field("登录密码", input("password", { type: "password", autocomplete: "new-password" })),
    h("details", { class: "terms" }, h("summary", {}, "用户服务协议"), h("p", {}, TERMS)),
    h("label", { class: "check" }, input("accept_terms", { type: "checkbox" }), " 我已阅读并同意《用户服务协议》"),
  ], "注册", async (v, msg) => {
    const { captcha_answer: _unused, ...body } = v;
    await api.request("POST", "/v1/auth/register", { body, anonymous: true });
    notice(msg, "注册成功，请登录", "ok");
    setTimeout(() => { location.hash = "#/login"; }, 800);
  }, { id: "register-submit" }), h("p", { class: "links" }, h("a", { href: "#/login" }, "返回登录"))));
}

function forgotScreen() {
  const name = input("name");
  const idn = input("id_number", { maxlength: "18" });
  $view().replaceChildren(h("section", { class: "page narrow" }, h("h2", {}, "忘记密码"), form([
    field("姓名", name), field("身份证号", idn),
    field("短信验证码（发送至登记手机）", h("div", { class: "row" }, input("sms_code", { inputmode: "numeric", maxlength: "6" }),
      smsButton(() => ({ purpose: "reset_password", name: name.value.trim(), id_number: idn.value.trim() })))),
    field("新密码", input("new_password", { type: "password", autocomplete: "new-password" })),
  ], "重置密码", async (v, msg) => {
    await api.request("POST", "/v1/auth/password-reset", { body: v, anonymous: true });
    notice(msg, "密码已重置，请用新密码登录", "ok");
    setTimeout(() => { location.hash = "#/login"; }, 800);
  }), h("p", { class: "links" }, h("a", { href: "#/login" }, "返回登录"))));
}

// ---------- 首页: 任务区 ----------
async function homeScreen() {
  shell("任务区", h("div", { id: "me", class: "card" }),
    tabs([["unread", "消息"], ["todo", "待办"], ["business", "我发起的"], ["read", "已阅"]], (key, body) =>
      key === "business" ? businessList(body) : messageList(key, body)));
  try {
    const me = await api.get("/v1/me");
    document.getElementById("me").replaceChildren(h("p", {}, `您好，${me.name}（${me.id_number}，${me.phone}）`));
  } catch (err) {
    fail(document.getElementById("me"), err);
  }
}

async function pager(body, load, render) {
  const cursors = [null];
  let page = 0;
  const draw = async () => {
    const msg = h("div", { class: "notice" });
    try {
      const out = await load(cursors[page]);
      cursors[page + 1] = out.next_cursor;
      body.replaceChildren(render(out), h("div", { class: "pager" },
        button("上一页", () => { page -= 1; draw(); }, { disabled: page === 0, class: "prev" }),
        h("span", {}, `第 ${page + 1} 页`),
        button("下一页", () => { page += 1; draw(); }, { disabled: !out.next_cursor, class: "next" })), msg);
    } catch (err) {
      body.replaceChildren(msg);
      fail(msg, err);
    }
  };
  await draw();
}

function messageList(box, body) {
  return pager(body, (cursor) => api.get("/v1/me/messages", { box, cursor, limit: 10 }), (out) => {
    if (!out.items.length) return h("p", { class: "empty" }, "暂无消息");
    return h("ul", { class: "list" }, out.items.map((m) => {
      const msg = h("div", { class: "notice" });
      const text = h("div", { class: "body", hidden: true });
      return h("li", { "data-id": m.id }, h("div", { class: "title" }, h("strong", {}, m.title), h("small", {}, when(m.created_at))),
        text, h("div", { class: "actions" },
          button("查看", async () => {
            try {
              const full = await api.get(`/v1/me/messages/${encodeURIComponent(m.id)}`);
              text.hidden = false;
              text.textContent = full.body + (full.serial_no ? `（业务流水号 ${full.serial_no}）` : "");
            } catch (err) { fail(msg, err); }
          }, { class: "view" }),
          box !== "read" ? button("标为已阅", async () => {
            try {
              await api.post(`/v1/me/messages/${encodeURIComponent(m.id)}/read`);
              messageList(box, body);
            } catch (err) { fail(msg, err); }
          }, { class: "mark" }) : null,
          button("删除", async () => {
            if (!confirm("确定删除这条消息吗？")) return;
            try {
              await api.del(`/v1/me/messages/${encodeURIComponent(m.id)}`);
              messageList(box, body);
            } catch (err) { fail(msg, err); }
          }, { class: "delete" })), msg);
    }));
  });
}

function businessList(body) {
  return pager(body, (cursor) => api.get("/v1/me/business", { cursor, limit: 10 }), (out) => table([
    ["业务", (r) => r.title], ["流水号", (r) => r.serial_no], ["金额", (r) => show(r.amount)],
    ["提交时间", (r) => when(r.submitted_at)], ["状态", (r) => label(r.status)],
    ["审核意见", (r) => show(r.opinion)], ["审核时间", (r) => when(r.decided_at)],
  ], out.items, "暂无业务"));
}

// ---------- 我的公积金 ----------
async function accountScreen() {
  const info = h("div", { class: "card", id: "account" }, h("p", { class: "loading" }, "加载中…"));
  const certMsg = h("div", { class: "notice" });
  const cert = h("div", { class: "card", id: "certificate" }, h("h3", {}, "打印缴存证明"),
    h("p", {}, "缴存证明由中心签发，附查验码，可在本网厅“缴存证明查验”核对真伪。"),
    button("生成缴存证明（PDF）", () => downloadCertificate(cert, certMsg), { class: "primary", id: "cert-btn" }), certMsg);
  const today = new Date();
  const iso = (d) => d.toISOString().slice(0, 10);
  const from = input("from", { type: "date", value: iso(new Date(today.getFullYear() - 1, today.getMonth(), today.getDate())) });
  const to = input("to", { type: "date", value: iso(today) });
  const list = h("div", { id: "movements" });
  const query = h("form", { class: "inline", id: "range" }, field("开始日期", from), field("结束日期", to),
    h("button", { type: "submit", class: "primary" }, "查询"));
  query.addEventListener("submit", (ev) => { ev.preventDefault(); movements(list, from.value, to.value); });
  shell("我的公积金", info, h("div", { class: "card" }, h("h3", {}, "缴存支取信息"), query, list), cert);
  try {
    const a = await api.get("/v1/me/account");
    info.replaceChildren(h("h3", {}, "账户信息"), kv([
      ["姓名", a.holder.name], ["身份证号", a.holder.id_number], ["个人账号", a.account_no, "account_no"],
      ["账户类型", label(a.kind)], ["账户状态", label(a.status), "status"], ["账户余额（元）", a.balance, "balance"],
      ["缴存基数（元）", a.base, "base"],
      ["缴存比例", a.ratio_person ? `个人 ${a.ratio_person}% / 单位 ${a.ratio_unit}%` : null, "ratio"],
      ["月缴存额（元）", a.monthly_amount, "monthly_amount"], ["开户单位", a.unit ? a.unit.name : null, "unit"],
      ["缴至年月", a.paid_through], ["开户日期", a.opened_on], ["最近提取日期", a.last_withdrawal_on],
    ]));
  } catch (err) {
    fail(info, err);
  }
  movements(list, from.value, to.value);
}

function movements(list, from, to) {
  list.replaceChildren(h("p", { class: "loading" }, "加载中…"));
  return pager(list, (cursor) => api.get("/v1/me/transactions", { from, to, cursor, limit: 10 }), (out) => table([
    ["日期", (r) => r.date], ["业务", (r) => r.title], ["类型", (r) => label(r.direction)],
    ["所属年月", (r) => show(r.period)], ["发生额（元）", (r) => r.amount], ["余额（元）", (r) => r.balance_after],
    ["状态", (r) => (r.direction === "in" && r.status === "posted" ? "已入账" : label(r.status))],
  ], out.items, "所选期间没有缴存支取记录"));
}

let certUrl = null;
async function downloadCertificate(card, msg) {
  try {
    const out = await api.request("GET", "/v1/me/certificate", { accept: "application/pdf" });
    const code = out.headers.get("X-Certificate-Code");
    if (certUrl) URL.revokeObjectURL(certUrl);
    certUrl = URL.createObjectURL(out.blob);
    card.querySelector(".cert-out")?.remove();
    card.append(h("div", { class: "cert-out" },
      h("p", {}, "查验码：", h("strong", { id: "cert-code" }, code || "—")),
      h("a", { href: certUrl, download: `缴存证明-${code || "gjj"}.pdf`, id: "cert-link", class: "button" }, "下载 PDF"),
      " ", h("a", { href: certUrl, target: "_blank", rel: "noopener" }, "在新窗口打开并打印")));
    notice(msg, "缴存证明已生成", "ok");
  } catch (err) {
    fail(msg, err);
  }
}

// ---------- 我的贷款 ----------
async function loansScreen() {
  const box = h("div", {});
  shell("我的贷款", box);
  let loans;
  try {
    loans = await api.get("/v1/me/loans");
  } catch (err) {
    return fail(box, err);
  }
  if (!loans.length) return box.replaceChildren(h("p", { class: "empty" }, "您名下没有公积金贷款"));
  const pick = h("select", { id: "contract" }, loans.map((l) => h("option", { value: l.contract_no }, `合同号 ${l.contract_no}`)));
  const detail = h("div", {});
  const draw = () => loanDetail(loans.find((l) => l.contract_no === pick.value), detail);
  pick.addEventListener("change", draw);
  box.replaceChildren(field("贷款合同", pick), detail);
  draw();
}

function loanDetail(loan, box) {
  const c = encodeURIComponent(loan.contract_no);
  box.replaceChildren(tabs([["info", "贷款信息"], ["progress", "贷款进度"], ["repayments", "还款明细"],
    ["schedule", "还款计划"], ["services", "提前还款/结清"], ["offset", "月对冲"]], async (key, body) => {
    try {
      if (key === "info") {
        body.replaceChildren(kv([
          ["合同号", loan.contract_no], ["贷款银行", loan.bank], ["还款账号", loan.repay_account],
          ["贷款金额（元）", loan.principal], ["贷款余额（元）", loan.balance, "loan_balance"], ["年利率", loan.annual_rate + "%"],
          ["贷款期限（月）", loan.term_months], ["已还期数", loan.paid_periods], ["还款方式", loan.method],
          ["贷款状态", label(loan.status)], ["放款日期", loan.disbursed_on], ["每月还款日", loan.repayment_day],
          ["下次还款日", loan.next_due_on], ["下次应还（元）", loan.next_amount],
          ["月对冲", loan.offset_signed ? "已签约" : "未签约"],
          ...(loan.arrears ? [["逾期本息（元）", loan.arrears], ["逾期起始日", loan.overdue_since],
            ["罚息（截至今日，元）", loan.penalty_to_date]] : []),
        ]));
      } else if (key === "progress") {
        const p = await api.get(`/v1/me/loans/${c}/progress`);
        body.replaceChildren(h("ol", { class: "stages" }, p.stages.map((s) =>
          h("li", { class: "stage " + s.state, "data-state": s.state }, h("strong", {}, s.name),
            h("span", { class: "state" }, s.state === "done" ? "已完成" : s.state === "current" ? "当前环节" : "未开始"),
            h("small", {}, when(s.at)), s.note ? h("small", {}, s.note) : null))));
      } else if (key === "repayments") {
        await pager(body, (cursor) => api.get(`/v1/me/loans/${c}/repayments`, { cursor, limit: 12 }), (out) => table([
          ["日期", (r) => r.date], ["期次", (r) => r.label], ["还款额（元）", (r) => r.amount], ["本金", (r) => r.principal],
          ["利息", (r) => r.interest], ["罚息", (r) => r.penalty], ["贷款余额", (r) => r.balance_after],
          ["公积金冲还", (r) => show(r.from_hpf)], ["银行扣款", (r) => show(r.from_bank)],
        ], out.items));
      } else if (key === "schedule") {
        const s = await api.get(`/v1/me/loans/${c}/schedule`);
        body.replaceChildren(kv([["剩余利息（元）", s.remaining_interest], ["贷款余额（元）", s.balance]]), table([
          ["期次", (r) => r.period_no], ["还款日", (r) => show(r.due_on)], ["月供（元）", (r) => r.payment],
          ["本金", (r) => r.principal], ["利息", (r) => r.interest], ["剩余本金", (r) => r.balance_after],
          ["状态", (r) => (r.paid ? "已还" : "未还")],
        ], s.periods));
      } else if (key === "services") {
        body.replaceChildren(prepayForm(loan), settleCard(loan));
      } else if (key === "offset") {
        body.replaceChildren(offsetCard(loan));
      }
    } catch (err) {
      body.replaceChildren();
      const msg = h("div", { class: "notice" });
      body.append(msg);
      fail(msg, err);
    }
  }));
}

function prepayForm(loan) {
  let key = api.newKey();
  return h("div", { class: "card" }, h("h3", {}, "提前还款（部分提前还本）"), form([
    field("提前还款金额（元）", input("amount", { inputmode: "decimal", placeholder: "例如 10000.00" })),
    field("还款方式", h("select", { name: "mode" }, h("option", { value: "shorten_term" }, "缩短期限"),
      h("option", { value: "lower_payment" }, "减少月供"))),
  ], "提交提前还款", async (v, msg) => {
    const out = await withStepUp((t) => api.post(`/v1/me/loans/${encodeURIComponent(loan.contract_no)}/prepayments`, v,
      { idempotencyKey: key, stepUp: t }));
    key = api.newKey();
    notice(msg, "", "ok");
    msg.append(h("div", { class: "msg ok" }, `提前还款成功，流水号 ${out.serial_no}`), kv([
      ["还款金额（元）", out.amount], ["其中利息（元）", out.interest], ["其中本金（元）", out.principal],
      ["贷款余额（元）", out.balance_after], ["剩余期数", out.after.remaining_months],
      ["月供（元）", `${out.before.monthly_payment} → ${out.after.monthly_payment}`], ["节省利息（元）", out.interest_saved],
    ]));
  }));
}

function settleCard(loan) {
  const msg = h("div", { class: "notice" });
  let key = api.newKey();
  return h("div", { class: "card" }, h("h3", {}, "提前结清"),
    h("p", {}, "一次还清剩余本金及应计利息，从还款账户扣款。"),
    button("提前结清", async () => {
      if (!confirm("确定提前结清该笔贷款吗？")) return;
      try {
        const out = await withStepUp((t) => api.post(`/v1/me/loans/${encodeURIComponent(loan.contract_no)}/settlement`,
          undefined, { idempotencyKey: key, stepUp: t }));
        key = api.newKey();
        notice(msg, "", "ok");
        msg.append(h("div", { class: "msg ok" }, `已结清，回单号 ${out.receipt.receipt_no}`), kv([
          ["结清金额（元）", out.amount], ["本金（元）", out.principal], ["利息（元）", out.interest],
          ["计息天数", out.interest_days], ["结清日期", out.receipt.settled_on],
        ]));
      } catch (err) { fail(msg, err); }
    }, { class: "danger", id: "settle-btn" }), msg);
}

function offsetCard(loan) {
  const msg = h("div", { class: "notice" });
  const state = h("p", { id: "offset-state" }, loan.offset_signed ? "当前状态：已签约" : "当前状态：未签约");
  const act = async (signed) => {
    try {
      const out = await api.put(`/v1/me/loans/${encodeURIComponent(loan.contract_no)}/offset`, { signed });
      loan.offset_signed = out.offset_signed;
      state.textContent = out.offset_signed ? "当前状态：已签约" : "当前状态：未签约";
      notice(msg, out.offset_signed ? `月对冲签约成功：每月${out.repayment_day}日从公积金余额冲还贷款` : "已解除月对冲", "ok");
    } catch (err) { fail(msg, err); }
  };
  return h("div", { class: "card" }, h("h3", {}, "月对冲还贷"),
    h("p", {}, "签约后，每月还款日从您的公积金余额中扣还当期贷款，不足部分由还款银行卡扣还。"), state,
    h("div", { class: "actions" }, button("签约", () => act(true), { class: "primary", id: "offset-sign" }),
      button("解约", () => act(false), { id: "offset-cancel" })), msg);
}

// ---------- 银行卡 ----------
async function cardOptions() {
  const out = await api.get("/v1/me/bank-cards");
  return out.items.filter((c) => c.status !== "unbound");
}

function cardSelect(cards) {
  return h("select", { name: "bank_card_id", id: "f-bank_card_id" },
    cards.length ? cards.map((c) => h("option", { value: c.card_id }, `${c.bank_name} ${c.card_no}`))
      : h("option", { value: "" }, "请先绑定银行卡"));
}

function bindCardForm(after) {
  return h("details", { class: "card", id: "bind-card" }, h("summary", {}, "绑定银行卡"), form([
    field("开户银行", input("bank_name", { placeholder: "例如 中国建设银行" })),
    field("银行卡号", input("card_no", { inputmode: "numeric", maxlength: "19" })),
  ], "绑定", async (v, msg) => {
    const out = await withStepUp((t) => api.post("/v1/me/bank-cards", v, { stepUp: t }));
    notice(msg, `已绑定 ${out.bank_name} ${out.card_no}`, "ok");
    if (after) after(out);
  }, { id: "bind-submit" }));
}

// ---------- 公积金提取 ----------

async function withdrawScreen() {
  const list = h("div", { id: "types" }, h("p", { class: "loading" }, "加载中…"));
  const formBox = h("div", { id: "withdraw-form" });
  shell("公积金提取", h("p", {}, "请选择提取类型。可以提取的类型显示本次可提取金额，不能提取的显示原因。"), list, formBox);
  let types;
  try {
    types = await api.get("/v1/withdrawals/types");
  } catch (err) {
    return fail(list, err);
  }
  list.replaceChildren(h("ul", { class: "list types" }, types.map((t) => h("li", { "data-type": t.type, class: t.eligible ? "ok" : "no" },
    h("div", { class: "title" }, h("strong", {}, t.name), h("small", {}, label(t.review))),
    h("p", { class: t.eligible ? "amount" : "reason" }, t.eligible ? t.message : t.reason_if_not || t.message),
    t.eligible ? button("办理", () => withdrawForm(t, formBox), { class: "primary" }) : null))));
}

async function withdrawForm(t, box) {
  let cards = [];
  try {
    cards = await cardOptions();
  } catch (err) {
    return fail(box, err);
  }
  let key = api.newKey();
  const sel = cardSelect(cards);
  const details = t.details_fields.map((f) => field(api.FIELD_NAMES[f] || f,
    input("details." + f, { type: /_on$|_date$/.test(f) ? "date" : "text" })));
  const result = h("div", { id: "withdraw-result" });
  box.replaceChildren(h("div", { class: "card" }, h("h3", {}, `${t.name}提取`), h("p", { class: "amount" }, t.message),
    t.closes_account ? h("p", { class: "warn" }, "办理该类提取后账户将销户。") : null,
    form([field("提取金额（元）", input("amount", { inputmode: "decimal", placeholder: t.max_amount ? `最多 ${t.max_amount}` : "" })),
      field("收款银行卡", sel), ...details],
    "提交申请", async (v, msg) => {
      const body = { type: t.type, bank_card_id: v.bank_card_id, details: {} };
      if (v.amount) body.amount = v.amount;
      for (const [k, val] of Object.entries(v)) if (k.startsWith("details.")) body.details[k.slice(8)] = val;
      const out = await withStepUp((tok) => api.post("/v1/withdrawals", body, { idempotencyKey: key, stepUp: tok }));
      key = api.newKey();
      result.replaceChildren(h("div", { class: "msg ok" }, out.status === "paid" || out.status === "posted"
        ? "提取成功，资金将转入您的银行卡" : "申请已提交，请等待中心审核，可在“我发起的”查看进度"), kv([
        ["业务流水号", out.serial_no, "serial_no"], ["提取类型", out.name], ["提取金额（元）", out.amount],
        ["收款卡", out.card], ["状态", label(out.status), "status"], ["审核方式", label(out.review)],
        ["提交时间", when(out.submitted_at)], ["审核意见", out.opinion],
      ]));
    }, { id: "withdraw-submit" }), result),
  bindCardForm((card) => { sel.replaceChildren(...cardSelect([card, ...cards]).children); cards = [card, ...cards]; }));
  box.scrollIntoView({ behavior: "smooth" });
}

// ---------- 灵活就业 ----------
async function flexibleScreen() {
  const top = h("div", { class: "card", id: "remittance" }, h("p", { class: "loading" }, "加载中…"));
  const back = h("div", { class: "card", id: "back-payment" });
  const status = h("div", { class: "card", id: "flex-status" });
  const amount = h("div", { class: "card", id: "monthly-amount" });
  const exit = h("div", { class: "card", id: "flex-exit" });
  // a newly bound card becomes a choice in every card list of this page
  const addCard = (c) => document.querySelectorAll("#view select[name=bank_card_id]").forEach((sel) => {
    sel.querySelector("option[value='']")?.remove();
    sel.prepend(h("option", { value: c.card_id }, `${c.bank_name} ${c.card_no}`));
    sel.value = c.card_id;
  });
  shell("灵活就业", top, back, status, amount, exit, bindCardForm((c) => { cards = [c, ...cards]; addCard(c); }));
  let r;
  let cards;
  try {
    [r, cards] = await Promise.all([api.get("/v1/flexible/remittance"), cardOptions()]);
  } catch (err) {
    return fail(top, err);
  }
  const win = r.window;
  let key = api.newKey();
  top.replaceChildren(h("h3", {}, "汇缴"), kv([
    ["缴存月份", r.period, "period"], ["应缴金额（元）", r.amount, "amount"], ["缴至年月", r.paid_through, "paid_through"],
    ["账户状态", label(r.account_status), "account_status"],
    ["汇缴时间", `${when(win.opens_at)} 至 ${when(win.closes_at)}（${win.open ? "开放中" : "未开放"}）`, "window"],
  ]), r.message ? h("p", { class: r.due === "remit" ? "" : "warn", id: "remit-due" }, r.message) : null, form([field("扣款银行卡", cardSelect(cards))], "缴存", async (v, msg) => {
    const out = await api.post("/v1/flexible/remittances", { period: r.period, bank_card_id: v.bank_card_id }, { idempotencyKey: key });
    key = api.newKey();
    top.querySelector("[data-field=paid_through]").textContent = out.paid_through;
    notice(msg, `缴存成功：${out.periods.join("、")} 共 ${out.amount} 元，余额 ${out.balance_after} 元，流水号 ${out.serial_no}`, "ok");
  }, { id: "remit-submit" }));

  let quote = null;
  let backKey = api.newKey();
  const quoteBox = h("div", { id: "quote" });
  const proposed = r.back_payment ? `${r.back_payment.end_period.slice(0, 4)}-${r.back_payment.end_period.slice(4)}` : "";
  back.replaceChildren(h("h3", {}, "补缴"), form([field("补缴截止月份", input("end_period", { type: "month", value: proposed }))], "试算",
    async (v, msg) => {
      quote = await api.get("/v1/flexible/back-payment", { end_period: v.end_period.replace("-", "") });
      backKey = api.newKey();
      const payMsg = h("div", { class: "notice" });
      quoteBox.replaceChildren(kv([["补缴月份", `${quote.from_period} 至 ${quote.end_period}（${quote.months}个月）`],
        ["月缴存额（元）", quote.monthly_amount], ["补缴金额（元）", quote.amount, "quote_amount"]]),
      form([field("扣款银行卡", cardSelect(cards))], "确认补缴", async (p, m) => {
        const out = await api.post("/v1/flexible/back-payments", { end_period: quote.end_period, bank_card_id: p.bank_card_id },
          { idempotencyKey: backKey });
        backKey = api.newKey();
        top.querySelector("[data-field=paid_through]").textContent = out.paid_through;
        notice(m, `补缴成功：${out.amount} 元，缴至 ${out.paid_through}，流水号 ${out.serial_no}`, "ok");
      }, { id: "back-pay-submit" }), payMsg);
      notice(msg, "");
    }, { id: "quote-submit" }), quoteBox);

  const sMsg = h("div", { class: "notice" });
  const flexAction = (path, text) => button(text, async () => {
    try {
      const out = await api.post(path, undefined, { idempotencyKey: api.newKey() });
      notice(sMsg, `办理成功，账户状态：${label(out.status)}`, "ok");
    } catch (err) { fail(sMsg, err); }
  }, { id: path.endsWith("seal") && !path.endsWith("unseal") ? "seal-btn" : "unseal-btn" });
  status.replaceChildren(h("h3", {}, "封存 / 启封"), h("p", {}, "封存后停止缴存；启封后恢复缴存。"),
    h("div", { class: "actions" }, flexAction("/v1/flexible/seal", "封存"), flexAction("/v1/flexible/unseal", "启封")), sMsg);

  let amtKey = api.newKey();
  amount.replaceChildren(h("h3", {}, "月缴存额调整"), form([field("新的月缴存额（元）", input("amount", { inputmode: "decimal" }))],
    "调整", async (v, msg) => {
      const out = await api.put("/v1/flexible/monthly-amount", { amount: v.amount }, { idempotencyKey: amtKey });
      amtKey = api.newKey();
      notice(msg, `已调整，月缴存额 ${out.monthly_amount} 元`, "ok");
    }));

  let exitKey = api.newKey();
  exit.replaceChildren(h("h3", {}, "退出缴存提取"), h("p", { class: "warn" }, "全部余额转入所选银行卡，账户销户。"),
    form([field("收款银行卡", cardSelect(cards))], "退出并提取", async (v, msg) => {
      if (!confirm("确定退出灵活就业缴存并提取全部余额吗？")) return;
      const out = await withStepUp((t) => api.post("/v1/flexible/exit", v, { idempotencyKey: exitKey, stepUp: t }));
      exitKey = api.newKey();
      notice(msg, `已受理：提取 ${out.amount} 元，账户状态 ${label(out.account_status)}，流水号 ${out.serial_no}`, "ok");
    }));
}

// ---------- 修改密码 / 退出 ----------
function passwordScreen() {
  shell("修改密码", form([
    field("原密码", input("old_password", { type: "password", autocomplete: "current-password" })),
    field("新密码", input("new_password", { type: "password", autocomplete: "new-password" })),
  ], "确认修改", async (v, msg) => {
    await api.put("/v1/me/password", v);
    notice(msg, "密码已修改，其他设备上的登录已退出", "ok");
  }, { id: "password-submit" }));
}

async function logout() {
  try {
    if (api.tokens()) await api.post("/v1/auth/logout");
  } catch {
    // the session ends here either way
  }
  api.clearTokens();
  location.hash = "#/login";
}

// ---------- router ----------
const PUBLIC = { "#/login": loginScreen, "#/register": registerScreen, "#/forgot": forgotScreen };
const PRIVATE = {
  "#/home": homeScreen, "#/account": accountScreen, "#/loans": loansScreen, "#/withdraw": withdrawScreen,
  "#/flexible": flexibleScreen, "#/password": passwordScreen, "#/logout": logout,
};

function route() {
  document.querySelectorAll(".overlay").forEach((o) => o.remove());
  const hash = location.hash.split("?")[0] || "";
  if (PUBLIC[hash]) return PUBLIC[hash]();
  if (!api.tokens()) {
    if (hash !== "#/login") location.hash = "#/login";
    else loginScreen();
    return;
  }
  (PRIVATE[hash] || (() => { location.hash = "#/home"; }))();
}

api.setSignedOut(() => { location.hash = "#/login"; });
window.addEventListener("hashchange", route);
route();
