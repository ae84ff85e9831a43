// The public API, on this page's own origin. Tokens live in sessionStorage (gone when the tab closes) and
// are removed on logout or when the refresh token no longer works; a step-up token lives in memory only.

const KEY = "gjj.tokens";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

export function tokens() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

export function saveTokens(pair, { rotated = false } = {}) {
  sessionStorage.setItem(KEY, JSON.stringify({ access: pair.access_token, refresh: pair.refresh_token }));
  if (!rotated) stepUpToken = null; // a step-up token belongs to the session that asked for it
}

export function clearTokens() {
  sessionStorage.removeItem(KEY);
  stepUpToken = null;
}

let stepUpToken = null; // {token, until}

export function currentStepUp() {
  if (stepUpToken && stepUpToken.until > Date.now()) return stepUpToken.token;
  stepUpToken = null;
  return null;
}

export function forgetStepUp() {
  stepUpToken = null;
}

export function keepStepUp(out) {
  stepUpToken = { token: out.step_up_token, until: Date.now() + (out.expires_in - 5) * 1000 };
}

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// One message a person can read: the API's Chinese message, plus the field problems it names.
export const FIELD_NAMES = {
  principal: "账号", password: "密码", new_password: "新密码", old_password: "原密码", phone: "手机号",
  id_number: "身份证号", name: "姓名", sms_code: "验证码", captcha_answer: "图形验证码", amount: "金额",
  card_no: "银行卡号", bank_name: "开户银行", end_period: "截止月份", period: "月份", bank_card_id: "银行卡",
  accept_terms: "用户协议", from: "开始日期", to: "结束日期", mode: "还款方式", type: "提取类型",
  retire_unit: "退休审批单位", retire_cert_no: "退休证号", approved_on: "退休批准日期",
  unemployment_cert_no: "失业证明编号", purchase_contract_no: "购房合同号", build_contract_no: "建房批准文号",
  contract_no: "公积金贷款合同号", bank: "贷款银行", loan_contract_no: "商业贷款合同号",
  purchase_date: "购房合同签订日期", captcha_id: "图形验证码", query_password: "查询密码", new_phone: "新手机号", signed: "签约", subscribed: "签约",
};
const CHINESE = /[\u4e00-\u9fff]/;

export function describe(err) {
  if (!(err instanceof ApiError)) return "网络异常，请稍后再试";
  const fields = err.details && err.details.fields;
  if (fields && typeof fields === "object") {
    const parts = Object.entries(fields).map(([k, v]) => {
      const name = FIELD_NAMES[k.split(".").pop()] || k.replace(/^details\./, "");
      // a few reasons come from the validation library in English: say it plainly instead
      return `${name}：${CHINESE.test(String(v)) ? v : "填写有误"}`;
    });
    if (parts.length) return `${err.message}（${parts.join("；")}）`;
  }
  return err.message;
}

let refreshing = null;

async function refresh() {
  const t = tokens();
  if (!t || !t.refresh) return false;
  if (!refreshing) {
    refreshing = (async () => {
      const res = await fetch("/v1/auth/refresh", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: t.refresh }),
      });
      if (!res.ok) {
        clearTokens();
        return false;
      }
      saveTokens(await res.json(), { rotated: true });
      return true;
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

export let onSignedOut = () => {};
export function setSignedOut(fn) { onSignedOut = fn; }

// request(method, path, {body, query, idempotencyKey, stepUp, accept}) -> parsed JSON, or {blob, headers}
export async function request(method, path, opts = {}) {
  let url = path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
    const s = q.toString();
    if (s) url += "?" + s;
  }
  const attempt = async () => {
    const headers = {};
    const t = tokens();
    if (t && t.access && !opts.anonymous) headers["Authorization"] = "Bearer " + t.access;
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
    if (opts.stepUp) headers["X-Step-Up-Token"] = opts.stepUp;
    headers["Accept"] = opts.accept || "application/json";
    return fetch(url, { method, headers, body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined });
  };
  // a 401 about the step-up token (details.step_up) is not about the session: no refresh, no signing out
  const aboutStepUp = async (r) => {
    const body = await r.clone().json().catch(() => null);
    return Boolean(body && body.error && body.error.details && body.error.details.step_up);
  };
  let res;
  try {
    res = await attempt();
    if (res.status === 401 && !opts.anonymous && tokens() && !(await aboutStepUp(res)) && (await refresh())) {
      res = await attempt();
    }
  } catch {
    throw new ApiError(0, "NETWORK", "网络异常，请稍后再试");
  }
  if (res.status === 401 && !opts.anonymous && !path.startsWith("/v1/auth/") && !(await aboutStepUp(res))) {
    clearTokens();
    onSignedOut();
  }
  if (res.status === 204) return null;
  const type = res.headers.get("Content-Type") || "";
  if (res.ok && opts.accept && !type.includes("json")) {
    return { blob: await res.blob(), headers: res.headers };
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || "HTTP_" + res.status, e.message || "系统繁忙，请稍后再试", e.details);
  }
  return data;
}

export const get = (path, query) => request("GET", path, { query });
export const post = (path, body, opts = {}) => request("POST", path, { ...opts, body });
export const put = (path, body, opts = {}) => request("PUT", path, { ...opts, body });
export const del = (path) => request("DELETE", path);
